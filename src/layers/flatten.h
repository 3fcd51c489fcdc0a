#pragma once
#include "layers/layer.h"

namespace kiln {

// Flatten: (N, C, H, W) -> (N, C*H*W). The data is already laid out that way, so forward and
// backward are copies (dL/dx is dL/dy reshaped).
class Flatten : public Layer {
 public:
  static LayerKind kind();
  std::string spec() const override { return "flatten"; }
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

}  // namespace kiln
