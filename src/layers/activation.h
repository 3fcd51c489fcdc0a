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
  static LayerKind kind();
  std::string spec() const override { return "relu"; }
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

class LeakyReLU : public Elementwise {
 public:
  explicit LeakyReLU(Real slope = Real(0.01));
  static LayerKind kind();
  std::string spec() const override;
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

 private:
  Real slope_;
};

class Tanh : public Elementwise {
 public:
  static LayerKind kind();
  std::string spec() const override { return "tanh"; }
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

class Sigmoid : public Elementwise {
 public:
  static LayerKind kind();
  std::string spec() const override { return "sigmoid"; }
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

}  // namespace kiln
