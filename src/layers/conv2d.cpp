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
// The backend decides how to compute this (backend/cpu/conv.cpp: im2col + GEMM over chunks of
// samples, or direct kernels for small channel counts); the layer only states it.
#include "layers/conv2d.h"

#include <algorithm>
#include <cmath>

#include "backend/ops.h"
#include "backend/ops_conv.h"
#include "layers/activation.h"
#include "layers/limits.h"
#include "layers/registry.h"

namespace kiln {

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w, int64_t stride,
               int64_t pad, bool bias, bool dirac)
    : C_(in_channels),
      K_(out_channels),
      R_(kernel_h),
      S_(kernel_w),
      stride_(stride),
      pad_(pad),
      has_bias_(bias),
      dirac_(dirac) {
  check_range("conv", "the input channels", C_, 1, kMaxFeatures);
  check_range("conv", "the output channels", K_, 1, kMaxFeatures);
  check_range("conv", "the kernel height", R_, 1, kMaxWindow);
  check_range("conv", "the kernel width", S_, 1, kMaxWindow);
  check_range("conv", "the stride", stride_, 1, kMaxWindow);
  check_range("conv", "the padding", pad_, 0, kMaxWindow);
  check_tensor_size("conv", {K_, C_, R_, S_});
  weight_ = Tensor({K_, C_, R_, S_});
  dweight_ = Tensor({K_, C_, R_, S_});
  if (has_bias_) {
    bias_ = Tensor({K_});
    dbias_ = Tensor({K_});
  }
}

LayerKind Conv2d::kind() {
  return {"conv", {"conv2d"}, "conv K RxS [stride=1] [pad=0] [bias=true] [dirac=false]",
          [](SpecLine& s, const BuildContext& ctx) -> std::unique_ptr<Layer> {
            ctx.need_image(s);
            const int64_t k = s.positional_int("output channels");
            const auto [r, c] = s.positional_size("kernel size");
            const int64_t stride = s.option_int("stride", 1), pad = s.option_int("pad", 0);
            return std::make_unique<Conv2d>(ctx.input[1], k, r, c, stride, pad, s.option_bool("bias", true),
                                            s.option_bool("dirac", false));
          }};
}

bool Conv2d::absorb(Layer& next) {
  if (epilogue_ != Epilogue::none || !dynamic_cast<ReLU*>(&next)) return false;
  epilogue_ = Epilogue::relu;
  return true;
}

std::string Conv2d::spec() const {
  std::string s = "conv " + std::to_string(K_) + " " + std::to_string(R_) + "x" + std::to_string(S_);
  if (stride_ != 1) s += " stride=" + std::to_string(stride_);
  if (pad_ != 0) s += " pad=" + std::to_string(pad_);
  if (!has_bias_) s += " bias=false";
  if (dirac_) s += " dirac=true";
  return s;
}

Shape Conv2d::output_shape(const Shape& in) const {
  auto fail = [&](const std::string& why) { throw Error(spec() + ": " + why + ", got input " + in.str()); };
  if (in.rank() != 4) fail("expects input (N, C, H, W)");
  if (in[1] != C_) fail("expects " + std::to_string(C_) + " input channels");
  const ConvDims d = dims(in);
  if (!d.valid()) fail("the " + std::to_string(R_) + "x" + std::to_string(S_) + " kernel is larger than the padded input");
  return Shape{in[0], K_, d.P, d.Q};
}

ConvDims Conv2d::dims(const Shape& in) const { return conv_dims(in[0], C_, in[2], in[3], K_, R_, S_, stride_, pad_); }

void Conv2d::forward(const Tensor& x, Tensor& y, const Pass&) {
  check_shape(y, output_shape(x.shape()), "conv forward output");
  ops::conv2d_forward(x, weight_, has_bias_ ? &bias_ : nullptr, y, dims(x.shape()), epilogue_);
}

void Conv2d::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  check_shape(dy, output_shape(x.shape()), "conv backward dL/dy");
  if (dx) check_shape(*dx, x.shape(), "conv backward dL/dx");
  ops::conv2d_backward(x, weight_, y, dy, dx, dweight_, has_bias_ ? &dbias_ : nullptr, dims(x.shape()), epilogue_);
}

std::vector<Param> Conv2d::params() {
  std::vector<Param> p{{"weight", &weight_, &dweight_, true}};
  if (has_bias_) p.push_back({"bias", &bias_, &dbias_, false});
  return p;
}

// Kaiming uniform as PyTorch's default for nn.Conv2d (kaiming_uniform_ with a = √5): weights
// and bias from U(-1/√fan_in, 1/√fan_in), fan_in = C·R·S. With dirac=true the first min(C, K)
// filters are then overwritten by W[k, c, r, s] = [c = k, r = R/2, s = S/2] (PyTorch's
// nn.init.dirac_ on weight[:C], as airbench94); the draws are the same either way, so the
// other filters and the bias do not change with the option.
void Conv2d::init(Rng& rng) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(C_ * R_ * S_));
  for (int64_t i = 0; i < weight_.numel(); ++i) weight_[i] = static_cast<Real>(rng.uniform(-bound, bound));
  for (int64_t i = 0; i < bias_.numel(); ++i) bias_[i] = static_cast<Real>(rng.uniform(-bound, bound));
  if (!dirac_) return;
  const int64_t filter = C_ * R_ * S_;
  for (int64_t k = 0; k < std::min(C_, K_); ++k) {
    std::fill(weight_.data() + k * filter, weight_.data() + (k + 1) * filter, Real(0));
    weight_[k * filter + (k * R_ + R_ / 2) * S_ + S_ / 2] = 1;
  }
}

int64_t Conv2d::forward_flops(const Shape& in) const {
  const Shape out = output_shape(in);
  const int64_t outputs = out[0] * K_ * out[2] * out[3];
  return 2 * outputs * C_ * R_ * S_ + (has_bias_ ? outputs : 0);
}

}  // namespace kiln
