#include "backend/ops_dropout.h"

#include "backend/ops.h"

namespace kiln::ops {

void dropout_mask(uint64_t seed, uint64_t stream, int64_t step, Real p, Tensor& scale, int64_t first) {
  Backend& be = backend_for({&scale});
  be.dropout_mask(seed, stream, step, p, scale.data(), scale.numel(), first);
}

void dropout_apply(const Tensor& x, const Tensor& scale, Tensor& y) {
  Backend& be = backend_for({&x, &scale, &y});
  check_same_shape(x, scale, "dropout mask");
  KILN_REQUIRE(x.numel() == y.numel(), "dropout " << x.shape().str() << " into " << y.shape().str());
  be.dropout_apply(x.data(), scale.data(), y.data(), x.numel());
}

}  // namespace kiln::ops
