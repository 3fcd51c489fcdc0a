// Dropout (inverted): y = x ⊙ m / (1 - p), m_i = [u_i >= p], so E[y] = x and eval is the
// identity. dL/dx = dL/dy ⊙ m / (1 - p), from the scale cached by forward.
#include "layers/dropout.h"

#include <sstream>

#include "backend/ops.h"
#include "backend/ops_dropout.h"
#include "layers/registry.h"

namespace kiln {

Dropout::Dropout(Real p, uint64_t stream) : p_(p), stream_(stream) {
  if (!(p_ >= 0 && p_ < 1)) throw Error("dropout: the probability must be in [0, 1), got " + std::to_string(p_));
}

// "dropout 0.5" or "dropout p=0.5"; each layer draws from a stream of its own.
LayerKind Dropout::kind() {
  return {"dropout", {}, "dropout p", [](SpecLine& s, const BuildContext& ctx) -> std::unique_ptr<Layer> {
            const double p = s.has_positional() ? s.positional_double("probability") : s.option_double("p", 0.5);
            return std::make_unique<Dropout>(static_cast<Real>(p), (*ctx.stream)++);
          }};
}

std::string Dropout::spec() const {
  std::ostringstream os;
  os << "dropout " << p_;
  return os.str();
}

void Dropout::forward(const Tensor& x, Tensor& y, const Pass& pass) {
  masked_ = pass.training() && p_ > 0;
  if (!masked_) {
    ops::copy(x, y);
    return;
  }
  scale_.ensure(x.shape(), x.device());
  // Indexed within the global batch: a rank's rows draw the mask one process draws for them.
  const int64_t per_sample = x.dim(0) > 0 ? x.numel() / x.dim(0) : 0;
  ops::dropout_mask(pass.seed, stream_, pass.step, p_, scale_, pass.first_sample * per_sample);
  ops::dropout_apply(x, scale_, y);
}

void Dropout::backward(const Tensor&, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (!dx) return;
  if (masked_)
    ops::dropout_apply(dy, scale_, *dx);
  else
    ops::copy(dy, *dx);
}

}  // namespace kiln
