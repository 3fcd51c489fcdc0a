#pragma once
#include "layers/layer.h"

namespace kiln {

// Inverted dropout: in training, y = x ⊙ m / (1 - p) with m_i ~ Bernoulli(1 - p); in eval,
// y = x. The mask is drawn from a counter-based generator keyed by (pass.seed, stream,
// pass.step, index), so the same step reproduces the same mask (resume, gradient checks).
class Dropout : public Layer {
 public:
  Dropout(Real p, uint64_t stream);  // p in [0, 1)
  static LayerKind kind();
  std::string spec() const override;
  Shape output_shape(const Shape& in) const override { return in; }
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

 private:
  Real p_;
  uint64_t stream_;
  Tensor scale_;         // m / (1 - p) of the last training forward
  bool masked_ = false;  // the last forward applied scale_ (training with p > 0); else identity
};

}  // namespace kiln
