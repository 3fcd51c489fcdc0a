#pragma once
#include "backend/dims.h"
#include "layers/layer.h"

namespace kiln {

// 2-D convolution (cross-correlation, as in every framework), NCHW.
//   x (N, C, H, W), weight (K, C, R, S), bias (K) -> y (N, K, P, Q)
//   P = (H + 2 pad - R) / stride + 1, Q = (W + 2 pad - S) / stride + 1
class Conv2d : public Layer {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
         int64_t stride = 1, int64_t pad = 0, bool bias = true, bool dirac = false);
  static LayerKind kind();
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
  // With Epilogue::relu the layer computes relu(conv(x) + b) and its backward takes dL/d of
  // that: a ReLU after the conv is absorbed into it (Sequential::fuse).
  bool absorb(Layer& next) override;
  void set_epilogue(Epilogue e) { epilogue_ = e; }
  Epilogue epilogue() const { return epilogue_; }

 protected:
  ConvDims dims(const Shape& in) const;  // of this conv on a batched input (N, C, H, W)
  int64_t C_, K_, R_, S_, stride_, pad_;
  bool has_bias_;
  // init(): the first min(C, K) filters start as the identity (airbench's partial dirac_):
  // filter k passes input channel k through at the kernel's centre, so at initialisation
  // those outputs are the input and the net starts closer to shallow.
  bool dirac_;
  Epilogue epilogue_ = Epilogue::none;
  Tensor weight_, dweight_, bias_, dbias_;
};

}  // namespace kiln
