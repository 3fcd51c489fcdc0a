// Dense (fully connected) layer.
//
// Forward, for a batch X (N, in), weights W (out, in), bias b (out):
//     Z = X W^T + 1 b^T                          (N, out)
// Backward, given G = dL/dZ (N, out):
//     dL/dX = G W                                 (N, in)   -- the column form: Wᵀ ∂L/∂z
//     dL/dW = G^T X                               (out, in) -- Σ_n ∂L/∂z_n x_nᵀ
//     dL/db = G^T 1                               (out)     -- Σ_n ∂L/∂z_n
// Each is one GEMM (or one reduction) over the whole batch.
#include "layers/dense.h"

#include <cmath>

#include "backend/ops.h"
#include "layers/limits.h"
#include "layers/registry.h"

namespace kiln {

Dense::Dense(int64_t in_features, int64_t out_features, bool bias)
    : in_(in_features), out_(out_features), has_bias_(bias) {
  check_range("dense", "the input features", in_, 1, kMaxFeatures);
  check_range("dense", "the output features", out_, 1, kMaxFeatures);
  check_tensor_size("dense", {in_, out_});
  weight_ = Tensor({out_, in_});
  dweight_ = Tensor({out_, in_});
  if (has_bias_) {
    bias_ = Tensor({out_});
    dbias_ = Tensor({out_});
  }
}

LayerKind Dense::kind() {
  return {"dense", {"linear", "fc"}, "dense N [bias=true]", [](SpecLine& s, const BuildContext& ctx) -> std::unique_ptr<Layer> {
            const int64_t out = s.positional_int("output size");
            return std::make_unique<Dense>(ctx.input.per_sample(), out, s.option_bool("bias", true));
          }};
}

std::string Dense::spec() const { return "dense " + std::to_string(out_) + (has_bias_ ? "" : " bias=false"); }

Shape Dense::output_shape(const Shape& in) const {
  if (in.rank() < 2 || in.per_sample() != in_)
    throw Error("dense " + std::to_string(out_) + ": expects " + std::to_string(in_) +
                " features per sample, got input " + in.str());
  return Shape{in[0], out_};
}

void Dense::forward(const Tensor& x, Tensor& y, const Pass&) {
  ops::matmul(false, true, Real(1), x, weight_, Real(0), y);
  if (has_bias_) ops::add_row_bias(y, bias_);
}

void Dense::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  ops::matmul(true, false, Real(1), dy, x, Real(1), dweight_);  // dW += G^T X
  if (has_bias_) ops::accumulate_row_sum(dy, dbias_);            // db += G^T 1
  if (dx) ops::matmul(false, false, Real(1), dy, weight_, Real(0), *dx);  // dX = G W
}

std::vector<Param> Dense::params() {
  std::vector<Param> p{{"weight", &weight_, &dweight_, true}};
  if (has_bias_) p.push_back({"bias", &bias_, &dbias_, false});
  return p;
}

// He (Kaiming) uniform on fan-in, as PyTorch's default for nn.Linear: U(-1/sqrt(in), 1/sqrt(in))
// for weights and bias. It keeps activations at a stable scale through ReLU stacks.
void Dense::init(Rng& rng) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
  for (int64_t i = 0; i < weight_.numel(); ++i) weight_[i] = static_cast<Real>(rng.uniform(-bound, bound));
  for (int64_t i = 0; i < bias_.numel(); ++i) bias_[i] = static_cast<Real>(rng.uniform(-bound, bound));
}

int64_t Dense::forward_flops(const Shape& in) const { return 2 * in[0] * in_ * out_ + (has_bias_ ? in[0] * out_ : 0); }

}  // namespace kiln
