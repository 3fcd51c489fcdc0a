#pragma once
// Elementwise activations. Shapes pass through unchanged; no parameters.
#include "layers/layer.h"

namespace kiln {

class Elementwise : public Layer {
 public:
  Shape output_shape(const Shape& in) const override { return in; }
  int64_t forward_flops(const Shape& in) const override { return in.numel(); }
};

class ReLU : public Elementwise {
 public:
  std::string spec() const override { return "relu"; }
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

class LeakyReLU : public Elementwise {
 public:
  explicit LeakyReLU(Real slope = Real(0.01)) : slope_(slope) {}
  std::string spec() const override;
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

 private:
  Real slope_;
};

class Tanh : public Elementwise {
 public:
  std::string spec() const override { return "tanh"; }
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

class Sigmoid : public Elementwise {
 public:
  std::string spec() const override { return "sigmoid"; }
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

// Flatten: (N, C, H, W) -> (N, C*H*W). The data is already laid out that way, so forward and
// backward are copies (dL/dx is dL/dy reshaped).
class Flatten : public Layer {
 public:
  std::string spec() const override { return "flatten"; }
  Shape output_shape(const Shape& in) const override { return Shape{in[0], in.per_sample()}; }
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

}  // namespace kiln
