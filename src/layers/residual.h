#pragma once
#include <memory>

#include "layers/conv2d.h"
#include "layers/sequential.h"

namespace kiln {

// Residual block: y = f(x) + P x, where f is a chain of layers and P is the identity, or a
// 1×1 convolution (stride s, no bias) when f changes the shape (or when asked for).
class Residual : public Layer {
 public:
  // `projection` may be null (identity skip); it must then preserve the shape.
  Residual(Sequential body, std::unique_ptr<Conv2d> projection);
  static LayerKind kind();
  std::string spec() const override;
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  void init(Rng& rng) override;
  int64_t forward_flops(const Shape& in) const override;
  std::vector<Layer*> children() override;

 private:
  Sequential body_;
  std::unique_ptr<Conv2d> proj_;
  Tensor fx_;            // f(x), the body's output
  Tensor skip_, dskip_;  // P x and dL/dx through the skip path
};

}  // namespace kiln
