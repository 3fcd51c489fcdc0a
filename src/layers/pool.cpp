#include "layers/pool.h"

namespace kiln {
// STUB: replaced by the real implementation.
MaxPool2d::MaxPool2d(int64_t kernel, int64_t stride) : k_(kernel), stride_(stride ? stride : kernel) {}
std::string MaxPool2d::spec() const { return "maxpool"; }
Shape MaxPool2d::output_shape(const Shape& in) const { return Shape{in[0], in[1], (in[2] - k_) / stride_ + 1, (in[3] - k_) / stride_ + 1}; }
void MaxPool2d::forward(const Tensor&, Tensor&, const Pass&) { throw Error("not implemented"); }
void MaxPool2d::backward(const Tensor&, const Tensor&, const Tensor&, Tensor*) { throw Error("not implemented"); }
int64_t MaxPool2d::forward_flops(const Shape&) const { return 0; }
AvgPool2d::AvgPool2d(int64_t kernel, int64_t stride) : k_(kernel), stride_(stride ? stride : kernel) {}
std::string AvgPool2d::spec() const { return "avgpool"; }
Shape AvgPool2d::output_shape(const Shape& in) const { return Shape{in[0], in[1], (in[2] - k_) / stride_ + 1, (in[3] - k_) / stride_ + 1}; }
void AvgPool2d::forward(const Tensor&, Tensor&, const Pass&) { throw Error("not implemented"); }
void AvgPool2d::backward(const Tensor&, const Tensor&, const Tensor&, Tensor*) { throw Error("not implemented"); }
int64_t AvgPool2d::forward_flops(const Shape&) const { return 0; }
Shape GlobalAvgPool::output_shape(const Shape& in) const { return Shape{in[0], in[1]}; }
void GlobalAvgPool::forward(const Tensor&, Tensor&, const Pass&) { throw Error("not implemented"); }
void GlobalAvgPool::backward(const Tensor&, const Tensor&, const Tensor&, Tensor*) { throw Error("not implemented"); }
}  // namespace kiln
