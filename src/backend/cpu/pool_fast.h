#pragma once
// AVX-512 max pooling for 2×2 windows at stride 2 (every pooling layer of the seed nets): two
// input rows in, one output row out, 16 outputs per step, the window's winner picked in the
// reference's order (first max, NaN wins) and its offset kept as a byte. Backward writes every
// element of dx once (the windows tile the image), so it needs no separate zeroing pass.
// Float only; callers check supported(), which also checks the CPU at run time.
#include <cstdint>

#include "backend/dims.h"

namespace kiln::cpu::fast {

bool maxpool2x2_supported(const PoolDims& d);
void maxpool2x2_forward(const float* x, float* y, uint8_t* argmax, const PoolDims& d);
void maxpool2x2_backward(const float* dy, const uint8_t* argmax, float* dx, const PoolDims& d);

}  // namespace kiln::cpu::fast
