// Activations: y = f(x) elementwise, so dL/dx = dL/dy ⊙ f'(x).
//   ReLU       f'(x) = [x > 0]
//   LeakyReLU  f'(x) = 1 if x > 0 else slope
//   Tanh       f'(x) = 1 - y²           (from the cached output)
//   Sigmoid    f'(x) = y (1 - y)
#include "layers/activation.h"

#include <sstream>

#include "backend/ops.h"

namespace kiln {

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

void Flatten::forward(const Tensor& x, Tensor& y, const Pass&) { ops::copy(x, y); }
void Flatten::backward(const Tensor&, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx) ops::copy(dy, *dx);
}

}  // namespace kiln
