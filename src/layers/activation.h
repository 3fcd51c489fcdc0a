#pragma once
// Elementwise activations: y = f(x), shapes unchanged, no parameters. One layer class over the
// activations of backend/math/activations.h (the math, for every backend); each kind below
// names one and parses its spec line.
#include "backend/math/activations.h"
#include "layers/layer.h"

namespace kiln {

class ActivationLayer : public Layer {
 public:
  explicit ActivationLayer(math::Activation f) : f_(f) {}
  Shape output_shape(const Shape& in) const override { return in; }
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  int64_t forward_flops(const Shape& in) const override { return in.numel(); }
  const math::Activation& function() const { return f_; }

 private:
  math::Activation f_;
};

class ReLU : public ActivationLayer {
 public:
  ReLU() : ActivationLayer(math::Relu{}) {}
  static LayerKind kind();
  std::string spec() const override { return "relu"; }
};

class LeakyReLU : public ActivationLayer {
 public:
  explicit LeakyReLU(Real slope = Real(0.01));
  static LayerKind kind();
  std::string spec() const override;
};

class Tanh : public ActivationLayer {
 public:
  Tanh() : ActivationLayer(math::Tanh{}) {}
  static LayerKind kind();
  std::string spec() const override { return "tanh"; }
};

class Sigmoid : public ActivationLayer {
 public:
  Sigmoid() : ActivationLayer(math::Sigmoid{}) {}
  static LayerKind kind();
  std::string spec() const override { return "sigmoid"; }
};

// x Φ(x), the exact erf form (PyTorch's nn.GELU default); the math in backend/math/activations.h.
class GELU : public ActivationLayer {
 public:
  GELU() : ActivationLayer(math::Gelu{}) {}
  static LayerKind kind();
  std::string spec() const override { return "gelu"; }
};

// y = F·x, dx = F·dy, no parameters: a constant factor, e.g. airbench's 1/9 on the logits
// (a temperature on the softmax that lets its rates be used unconverted).
class Scale : public ActivationLayer {
 public:
  explicit Scale(Real factor);
  static LayerKind kind();
  std::string spec() const override;
  int64_t forward_flops(const Shape& in) const override { return in.numel(); }
};

}  // namespace kiln
