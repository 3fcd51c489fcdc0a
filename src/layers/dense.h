#pragma once
#include "layers/layer.h"

namespace kiln {

// Fully connected: Y = X W^T + b, X read as [N, in] (a 4-D input is flattened per sample).
class Dense : public Layer {
 public:
  Dense(int64_t in_features, int64_t out_features, bool bias = true);
  static LayerKind kind();
  std::string spec() const override;
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param> params() override;
  void init(Rng& rng) override;
  int64_t forward_flops(const Shape& in) const override;

  Tensor& weight() { return weight_; }  // [out, in]
  Tensor& bias() { return bias_; }      // [out]

 protected:
  int64_t in_, out_;
  bool has_bias_;
  Tensor weight_, dweight_, bias_, dbias_;
};

}  // namespace kiln
