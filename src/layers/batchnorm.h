#pragma once
#include "layers/layer.h"

namespace kiln {

// Batch normalisation over the batch (and, for 4-D input, the spatial positions) per feature /
// channel: (N, F) or (N, C, H, W). Training uses batch statistics and updates the running
// ones with `momentum` (PyTorch's convention: running = (1 - m) running + m batch, unbiased
// variance for the running estimate); eval uses the running statistics. With a BatchSync in
// the training Pass (train.sync_bn), the batch statistics, and backward's two sums, are the
// global batch's over every replica (batchnorm.cpp). With trained_scale false (`bn scale=false`,
// airbench's BatchNorm) γ stays at 1: a buffer, saved and exported, never updated.
class BatchNorm : public Layer {
 public:
  explicit BatchNorm(int64_t features, Real momentum = Real(0.1), Real eps = Real(1e-5), bool trained_scale = true);
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
  bool trained_scale_ = true;
  Tensor gamma_, dgamma_, beta_, dbeta_;
  Tensor running_mean_, running_var_;
  Tensor mean_, rstd_;  // of the last forward: batch statistics (train) or running ones (eval)
  Tensor var_;          // biased batch variance of the last training forward
  Mode last_mode_ = Mode::eval;

  // Synchronised statistics (sync_ of the last training forward, null without).
  void forward_synced(const Tensor& x, Tensor& y, BatchSync& sync);
  void backward_synced(const Tensor& x, const Tensor& dy, Tensor* dx);
  BatchSync* sync_ = nullptr;
  int64_t global_count_ = 0;              // M over all replicas, of the last synced forward
  Tensor sum_dgamma_, sum_dbeta_;         // (F): this replica's Σ dy x̂, Σ dy
  Tensor coef_scale_, coef_shift_, t_, u_;  // backward_synced's correction and its operands
};

}  // namespace kiln
