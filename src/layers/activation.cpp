// Activations: y = f(x) elementwise, so dL/dx = dL/dy ⊙ f'(x).
//   ReLU       f'(x) = [x > 0]
//   LeakyReLU  f'(x) = 1 if x > 0 else slope
//   Tanh       f'(x) = 1 - y²           (from the cached output)
//   Sigmoid    f'(x) = y (1 - y)
#include "layers/activation.h"

#include <sstream>

#include <cmath>

#include "backend/ops.h"
#include "layers/registry.h"

namespace kiln {

// The kinds without arguments.
template <class L>
static LayerKind plain_kind(const char* name) {
  return {name, {}, name, [](SpecLine&, const BuildContext&) -> std::unique_ptr<Layer> { return std::make_unique<L>(); }};
}
LayerKind ReLU::kind() { return plain_kind<ReLU>("relu"); }
LayerKind Tanh::kind() { return plain_kind<Tanh>("tanh"); }
LayerKind Sigmoid::kind() { return plain_kind<Sigmoid>("sigmoid"); }

// "leakyrelu 0.2" or "leakyrelu slope=0.2".
LayerKind LeakyReLU::kind() {
  return {"leakyrelu", {"leaky_relu"}, "leakyrelu [slope=0.01]",
          [](SpecLine& s, const BuildContext&) -> std::unique_ptr<Layer> {
            const double slope = s.has_positional() ? s.positional_double("slope") : s.option_double("slope", 0.01);
            return std::make_unique<LeakyReLU>(static_cast<Real>(slope));
          }};
}

LeakyReLU::LeakyReLU(Real slope) : slope_(slope) {
  if (!std::isfinite(slope_)) throw Error("leakyrelu: the slope must be a finite number");
}

void ReLU::forward(const Tensor& x, Tensor& y, const Pass&) { ops::relu_forward(x, y); }
void ReLU::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx) ops::relu_backward(x, dy, *dx);
}

std::string LeakyReLU::spec() const {
  std::ostringstream os;
  os << "leakyrelu " << slope_;
  return os.str();
}
void LeakyReLU::forward(const Tensor& x, Tensor& y, const Pass&) { ops::leaky_relu_forward(x, y, slope_); }
void LeakyReLU::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx) ops::leaky_relu_backward(x, dy, *dx, slope_);
}

void Tanh::forward(const Tensor& x, Tensor& y, const Pass&) { ops::tanh_forward(x, y); }
void Tanh::backward(const Tensor&, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (dx) ops::tanh_backward(y, dy, *dx);
}

void Sigmoid::forward(const Tensor& x, Tensor& y, const Pass&) { ops::sigmoid_forward(x, y); }
void Sigmoid::backward(const Tensor&, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (dx) ops::sigmoid_backward(y, dy, *dx);
}

}  // namespace kiln
