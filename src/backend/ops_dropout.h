#pragma once
// Tensor-level dropout ops (the dispatch pattern of ops.h; kernels in cpu/dropout.h, the
// per-element mask in math/dropout.h).
#include <cstdint>

#include "tensor/tensor.h"

namespace kiln::ops {

// scale = mask / (1 - p), the mask keyed by (seed, stream, step, index), scale's first element
// being index `first`; see cpu::dropout_mask.
void dropout_mask(uint64_t seed, uint64_t stream, int64_t step, Real p, Tensor& scale, int64_t first = 0);
// y = x ⊙ scale
void dropout_apply(const Tensor& x, const Tensor& scale, Tensor& y);

}  // namespace kiln::ops
