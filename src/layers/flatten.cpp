#include "layers/flatten.h"

#include "backend/ops.h"
#include "layers/registry.h"

namespace kiln {

LayerKind Flatten::kind() {
  return {"flatten", {}, "flatten",
          [](SpecLine&, const BuildContext&) -> std::unique_ptr<Layer> { return std::make_unique<Flatten>(); }};
}

Shape Flatten::output_shape(const Shape& in) const {
  if (in.rank() < 1) throw Error("flatten: expects a batched input (N, ...), got " + in.str());
  return Shape{in[0], in.per_sample()};
}

void Flatten::forward(const Tensor& x, Tensor& y, const Pass&) { ops::copy(x, y); }
void Flatten::backward(const Tensor&, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx) ops::copy(dy, *dx);
}

}  // namespace kiln
