// Activations: y = f(x) elementwise, so dL/dx = dL/dy ⊙ f'(x).
//   ReLU       f'(x) = [x > 0]
//   LeakyReLU  f'(x) = 1 if x > 0 else slope
//   Tanh       f'(x) = 1 - y²           (from the cached output)
//   Sigmoid    f'(x) = y (1 - y)
//   GELU       f'(x) = Φ(x) + x φ(x)  (from the input)
//   Scale      f'(x) = F              (a constant)
#include "layers/activation.h"

#include <cmath>
#include <sstream>
#include <string>

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
LayerKind GELU::kind() { return plain_kind<GELU>("gelu"); }

// "leakyrelu 0.2" or "leakyrelu slope=0.2".
LayerKind LeakyReLU::kind() {
  return {"leakyrelu", {"leaky_relu"}, "leakyrelu [slope=0.01]",
          [](SpecLine& s, const BuildContext&) -> std::unique_ptr<Layer> {
            const double slope = s.has_positional() ? s.positional_double("slope") : s.option_double("slope", 0.01);
            return std::make_unique<LeakyReLU>(static_cast<Real>(slope));
          }};
}

LeakyReLU::LeakyReLU(Real slope) : ActivationLayer(math::LeakyRelu{static_cast<float>(slope)}) {
  if (!std::isfinite(slope)) throw Error("leakyrelu: the slope must be a finite number");
}

std::string LeakyReLU::spec() const {
  std::ostringstream os;
  os << "leakyrelu " << std::get<math::LeakyRelu>(function()).slope;
  return os.str();
}

// "scale 0.111111" or "scale factor=0.111111".
LayerKind Scale::kind() {
  return {"scale", {}, "scale F (y = F·x)", [](SpecLine& s, const BuildContext&) -> std::unique_ptr<Layer> {
            const double f = s.has_positional() ? s.positional_double("factor") : s.option_double("factor", 1.0);
            return std::make_unique<Scale>(static_cast<Real>(f));
          }};
}

Scale::Scale(Real factor) : ActivationLayer(math::Scale{static_cast<float>(factor)}) {
  if (!std::isfinite(factor)) throw Error("scale: the factor must be a finite number");
}

// The fewest digits (at most nine) that read back as the same float: a spec is what a saved
// model rebuilds from, and "scale 0.111111" should stay that, not become 0.111111000.
std::string Scale::spec() const {
  const float f = std::get<math::Scale>(function()).factor;
  std::ostringstream os;
  for (int digits = 6; digits <= 9; ++digits) {
    os.str("");
    os.precision(digits);
    os << f;
    if (std::stof(os.str()) == f) break;
  }
  return "scale " + os.str();
}

void ActivationLayer::forward(const Tensor& x, Tensor& y, const Pass&) { ops::activation_forward(f_, x, y); }
void ActivationLayer::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (dx) ops::activation_backward(f_, x, y, dy, *dx);
}

}  // namespace kiln
