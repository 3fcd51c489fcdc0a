#pragma once
#include "layers/layer.h"

namespace kiln {

// 2-D convolution (cross-correlation, as in every framework), NCHW.
//   x (N, C, H, W), weight (K, C, R, S), bias (K) -> y (N, K, P, Q)
//   P = (H + 2 pad - R) / stride + 1, Q = (W + 2 pad - S) / stride + 1
class Conv2d : public Layer {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
         int64_t stride = 1, int64_t pad = 0, bool bias = true);
  std::string spec() const override;
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param> params() override;
  void init(Rng& rng) override;
  int64_t forward_flops(const Shape& in) const override;

  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  int64_t in_channels() const { return C_; }
  int64_t out_channels() const { return K_; }
  int64_t kernel_h() const { return R_; }
  int64_t kernel_w() const { return S_; }
  int64_t stride() const { return stride_; }
  int64_t pad() const { return pad_; }

 protected:
  int64_t C_, K_, R_, S_, stride_, pad_;
  bool has_bias_;
  Tensor weight_, dweight_, bias_, dbias_;
  Tensor workspace_;  // im2col columns and the GEMM output of one chunk, reused across calls
  // Upper bound on workspace_: the batch is lowered in chunks of as many samples as fit.
  int64_t max_workspace_bytes_ = int64_t{32} << 20;

 private:
  int64_t chunk_samples(int64_t N, int64_t PQ) const;
  // When forward lowered the whole batch in one chunk, its columns are still in workspace_ for
  // backward on the same x (identified by its storage and shape).
  const Real* cols_of_ = nullptr;
  Shape cols_shape_;
};

}  // namespace kiln
