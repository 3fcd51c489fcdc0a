#pragma once
#include "layers/layer.h"

namespace kiln {

// Batch normalisation over the batch (and, for 4-D input, the spatial positions) per feature /
// channel: (N, F) or (N, C, H, W). Training uses batch statistics and updates the running
// ones with `momentum` (PyTorch's convention: running = (1 - m) running + m batch, unbiased
// variance for the running estimate); eval uses the running statistics.
class BatchNorm : public Layer {
 public:
  explicit BatchNorm(int64_t features, Real momentum = Real(0.1), Real eps = Real(1e-5));
  static LayerKind kind();
  std::string spec() const override;
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param> params() override;
  std::vector<Param> buffers() override;
  void init(Rng& rng) override;
  int64_t forward_flops(const Shape& in) const override { return 4 * in.numel(); }

 private:
  int64_t F_;
  Real momentum_, eps_;
  Tensor gamma_, dgamma_, beta_, dbeta_;
  Tensor running_mean_, running_var_;
  Tensor mean_, rstd_;  // of the last forward: batch statistics (train) or running ones (eval)
  Tensor var_;          // biased batch variance of the last training forward
  Mode last_mode_ = Mode::eval;
};

}  // namespace kiln
