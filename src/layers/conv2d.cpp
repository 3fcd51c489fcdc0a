// 2-D convolution (cross-correlation), NCHW, lowered to GEMMs by im2col.
//
// Forward, for x (N, C, H, W), W (K, C, R, S), b (K):
//     y[n,k,p,q] = b[k] + Σ_{c,r,s} W[k,c,r,s] · x[n, c, p·st - pad + r, q·st - pad + s]
// (x is zero outside the image). Gather the input patches of a chunk of samples into
//     cols(x)[(c,r,s), (n,p,q)] = x[n, c, p·st - pad + r, q·st - pad + s]     (C·R·S, N·P·Q)
// and read W as W_mat (K, C·R·S); then the whole chunk is one GEMM
//     Y_mat = W_mat · cols(x)                                                  (K, N·P·Q)
// followed by a reorder of Y_mat into y (N, K, P, Q) with + b[k] on the way.
//
// Backward, given dY = dL/dy, reordered the same way into dY_mat (K, N·P·Q):
//     dW_mat = dY_mat · cols(x)ᵀ        (K, C·R·S)  -- Σ over n,p,q of dy times the patch it saw
//     db[k]  = Σ_{n,p,q} dy[n,k,p,q]    (K)
//     dX     = col2im(W_matᵀ · dY_mat)  (N, C, H, W)
// The last line: y is linear in cols(x), so dL/dcols = W_matᵀ dY_mat; cols(x) copies each
// pixel into every (row, column) that reads it, so its adjoint col2im adds those entries
// back into the pixel (pixels read only as padding receive nothing).
//
// The batch is cut into chunks only to bound the workspace (columns plus Y_mat) to
// max_workspace_bytes_; each chunk is one im2col and one GEMM per product above. dW
// accumulates over chunks through the GEMM's beta = 1.
#include "layers/conv2d.h"

#include <algorithm>
#include <cmath>

#include "backend/ops.h"
#include "backend/ops_conv.h"

namespace kiln {

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w, int64_t stride,
               int64_t pad, bool bias)
    : C_(in_channels), K_(out_channels), R_(kernel_h), S_(kernel_w), stride_(stride), pad_(pad), has_bias_(bias) {
  if (C_ <= 0 || K_ <= 0 || R_ <= 0 || S_ <= 0 || stride_ <= 0 || pad_ < 0)
    throw Error("conv: channels, kernel and stride must be positive and pad non-negative, got " +
                std::to_string(C_) + " -> " + std::to_string(K_) + " channels, kernel " + std::to_string(R_) + "x" +
                std::to_string(S_) + ", stride " + std::to_string(stride_) + ", pad " + std::to_string(pad_));
  weight_ = Tensor({K_, C_, R_, S_});
  dweight_ = Tensor({K_, C_, R_, S_});
  if (has_bias_) {
    bias_ = Tensor({K_});
    dbias_ = Tensor({K_});
  }
}

std::string Conv2d::spec() const {
  std::string s = "conv " + std::to_string(K_) + " " + std::to_string(R_) + "x" + std::to_string(S_);
  if (stride_ != 1) s += " stride=" + std::to_string(stride_);
  if (pad_ != 0) s += " pad=" + std::to_string(pad_);
  if (!has_bias_) s += " bias=false";
  return s;
}

Shape Conv2d::output_shape(const Shape& in) const {
  auto fail = [&](const std::string& why) { throw Error(spec() + ": " + why + ", got input " + in.str()); };
  if (in.rank() != 4) fail("expects input (N, C, H, W)");
  if (in[1] != C_) fail("expects " + std::to_string(C_) + " input channels");
  const int64_t P = (in[2] + 2 * pad_ - R_) / stride_ + 1, Q = (in[3] + 2 * pad_ - S_) / stride_ + 1;
  if (in[2] + 2 * pad_ < R_ || in[3] + 2 * pad_ < S_ || P <= 0 || Q <= 0)
    fail("the " + std::to_string(R_) + "x" + std::to_string(S_) + " kernel is larger than the padded input");
  return Shape{in[0], K_, P, Q};
}

int64_t Conv2d::chunk_samples(int64_t N, int64_t PQ) const {
  const int64_t per_sample = (C_ * R_ * S_ + K_) * PQ * static_cast<int64_t>(sizeof(Real));
  return std::clamp<int64_t>(max_workspace_bytes_ / per_sample, 1, std::max<int64_t>(N, 1));
}

void Conv2d::forward(const Tensor& x, Tensor& y, const Pass&) {
  const Shape out = output_shape(x.shape());
  check_shape(y, out, "conv forward output");
  const int64_t N = x.dim(0), CHW = x.shape().per_sample(), P = out[2], Q = out[3], PQ = P * Q,
                CRS = C_ * R_ * S_, chunk = chunk_samples(N, PQ);
  const ops::ConvGeometry g{R_, S_, stride_, pad_};
  workspace_.ensure({(CRS + K_) * chunk * PQ});
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t m = std::min(chunk, N - n0);
    Tensor cols = workspace_.slice(0, {CRS, m * PQ});
    Tensor ymat = workspace_.slice(CRS * chunk * PQ, {K_, m * PQ});
    Tensor ys = y.slice(n0 * K_ * PQ, {m, K_, P, Q});
    ops::im2col(x.slice(n0 * CHW, {m, C_, x.dim(2), x.dim(3)}), g, cols);
    ops::matmul(false, false, Real(1), weight_, cols, Real(0), ymat);  // Y_mat = W_mat cols
    ops::conv_output_from_cols(ymat, has_bias_ ? &bias_ : nullptr, ys);
  }
  const bool one_chunk = chunk >= N;
  cols_of_ = one_chunk ? x.data() : nullptr;
  cols_shape_ = one_chunk ? x.shape() : Shape{};
}

void Conv2d::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  const Shape out = output_shape(x.shape());
  check_shape(dy, out, "conv backward dL/dy");
  if (dx) check_shape(*dx, x.shape(), "conv backward dL/dx");
  const int64_t N = x.dim(0), CHW = x.shape().per_sample(), P = out[2], Q = out[3], PQ = P * Q,
                CRS = C_ * R_ * S_, chunk = chunk_samples(N, PQ);
  const ops::ConvGeometry g{R_, S_, stride_, pad_};
  const bool have_cols = cols_of_ == x.data() && cols_shape_ == x.shape() && chunk >= N &&
                         workspace_.numel() >= (CRS + K_) * chunk * PQ;
  workspace_.ensure({(CRS + K_) * chunk * PQ});
  if (has_bias_) ops::accumulate_channel_sum(dy, dbias_);  // db += Σ_{n,p,q} dY
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t m = std::min(chunk, N - n0);
    Tensor cols = workspace_.slice(0, {CRS, m * PQ});
    Tensor dymat = workspace_.slice(CRS * chunk * PQ, {K_, m * PQ});
    if (!have_cols) ops::im2col(x.slice(n0 * CHW, {m, C_, x.dim(2), x.dim(3)}), g, cols);
    ops::conv_grad_to_cols(dy.slice(n0 * K_ * PQ, {m, K_, P, Q}), dymat);
    ops::matmul(false, true, Real(1), dymat, cols, Real(1), dweight_);  // dW_mat += dY_mat colsᵀ
    if (dx) {
      ops::matmul(true, false, Real(1), weight_, dymat, Real(0), cols);  // dcols = W_matᵀ dY_mat
      Tensor dxs = dx->slice(n0 * CHW, {m, C_, x.dim(2), x.dim(3)});
      ops::col2im(cols, g, dxs, false);
    }
  }
  if (dx) cols_of_ = nullptr;  // the columns were overwritten by dcols
}

std::vector<Param> Conv2d::params() {
  std::vector<Param> p{{"weight", &weight_, &dweight_, true}};
  if (has_bias_) p.push_back({"bias", &bias_, &dbias_, false});
  return p;
}

// Kaiming uniform as PyTorch's default for nn.Conv2d (kaiming_uniform_ with a = √5): weights
// and bias from U(-1/√fan_in, 1/√fan_in), fan_in = C·R·S.
void Conv2d::init(Rng& rng) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(C_ * R_ * S_));
  for (int64_t i = 0; i < weight_.numel(); ++i) weight_[i] = static_cast<Real>(rng.uniform(-bound, bound));
  for (int64_t i = 0; i < bias_.numel(); ++i) bias_[i] = static_cast<Real>(rng.uniform(-bound, bound));
}

int64_t Conv2d::forward_flops(const Shape& in) const {
  const Shape out = output_shape(in);
  const int64_t outputs = out[0] * K_ * out[2] * out[3];
  return 2 * outputs * C_ * R_ * S_ + (has_bias_ ? outputs : 0);
}

}  // namespace kiln
