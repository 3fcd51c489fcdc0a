#include "layers/conv2d.h"

namespace kiln {
// STUB: replaced by the real implementation.
Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w, int64_t stride,
               int64_t pad, bool bias)
    : C_(in_channels), K_(out_channels), R_(kernel_h), S_(kernel_w), stride_(stride), pad_(pad), has_bias_(bias) {
  weight_ = Tensor({K_, C_, R_, S_});
  dweight_ = Tensor({K_, C_, R_, S_});
  if (bias) {
    bias_ = Tensor({K_});
    dbias_ = Tensor({K_});
  }
}
std::string Conv2d::spec() const { return "conv"; }
Shape Conv2d::output_shape(const Shape& in) const {
  return Shape{in[0], K_, (in[2] + 2 * pad_ - R_) / stride_ + 1, (in[3] + 2 * pad_ - S_) / stride_ + 1};
}
void Conv2d::forward(const Tensor&, Tensor&, const Pass&) { throw Error("conv: not implemented"); }
void Conv2d::backward(const Tensor&, const Tensor&, const Tensor&, Tensor*) { throw Error("conv: not implemented"); }
std::vector<Param> Conv2d::params() {
  std::vector<Param> p{{"weight", &weight_, &dweight_, true}};
  if (has_bias_) p.push_back({"bias", &bias_, &dbias_, false});
  return p;
}
void Conv2d::init(Rng&) {}
int64_t Conv2d::forward_flops(const Shape&) const { return 0; }
}  // namespace kiln
