#pragma once
// The dropout mask, written once for every backend (cpu/norm.cpp's loop, cuda's kernel):
// element i of the scale for step `step` is keep = 1/(1 - p) where u_i ≥ p and 0 elsewhere,
// u_i = hash_uniform(seed, stream, (step << 32) ^ i): a pure function of its coordinates, so
// the same step draws the same mask on any device, in any order. Plain C++17.
#include <cstdint>

#include "tensor/hash.h"

namespace kiln::math {

template <class T>
KILN_HD T dropout_scale_at(uint64_t seed, uint64_t stream, int64_t step, double p, T keep, int64_t i) {
  const uint64_t counter = (static_cast<uint64_t>(step) << 32) ^ static_cast<uint64_t>(i);
  return hash_uniform(seed, stream, counter) >= p ? keep : T(0);
}

}  // namespace kiln::math
