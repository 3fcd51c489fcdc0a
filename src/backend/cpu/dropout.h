#pragma once
// Inverted dropout on raw buffers (the layer's math: layers/dropout.cpp).
#include <cstdint>

#include "tensor/tensor.h"

namespace kiln::cpu {

// Inverted-dropout scale of n elements: scale[i] = [u_i >= p] / (1 - p), with
// u_i = hash_uniform(seed, stream, (step << 32) ^ i), so the mask is a function of
// (seed, stream, step, i) alone; counters are distinct for i < 2^32 and step < 2^32. scale[0]
// is element `first` of the mask (a rank's shard of a global batch draws that batch's mask).
void dropout_mask(uint64_t seed, uint64_t stream, int64_t step, Real p, Real* scale, int64_t n, int64_t first = 0);
// y = x ⊙ scale (forward), and dx = dy ⊙ scale (backward).
void dropout_apply(const Real* x, const Real* scale, Real* y, int64_t n);

}  // namespace kiln::cpu
