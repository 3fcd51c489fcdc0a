#pragma once
// out[i] = table[in[i]] for bytes in: how the loader turns 8-bit pixels into normalised
// values (one 256-entry table per channel, each entry computed exactly in double once).
#include <cstdint>

#include "tensor/tensor.h"

namespace kiln::cpu {

void lookup_bytes(const uint8_t* in, const Real* table, Real* out, int64_t n);
void lookup_bytes_naive(const uint8_t* in, const Real* table, Real* out, int64_t n);

}  // namespace kiln::cpu
