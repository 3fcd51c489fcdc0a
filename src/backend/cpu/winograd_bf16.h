#pragma once
// The bf16 products of the Winograd convolution under mixed precision (train.precision =
// "bf16"): the α² per-position GEMMs of conv_winograd.h (M_ξ = V_ξ U_ξ forward and for dL/dx,
// dU_ξ += V_ξᵀ dM_ξ for dL/dw) with their inputs rounded to bf16 (ties to even) and the
// products summed in fp32 by vdpbf16ps; the transforms around them stay fp32.
//
// vdpbf16ps multiplies a pair of bf16 in each 32-bit lane by a pair in the other operand and
// adds both products into the fp32 lane, so the summed index runs along the pairs: operands are
// packed as uint32 pairs (the even index in the low half) along the summed dimension, the
// filters once per call (not per block of tiles), the activations once per block.
//
// Error: as gemm_bf16.h, |C - C_exact| <= (2u + u² + R·2^-24) Σ|a||b| for R summed terms,
// u = 2^-8; the Winograd amplification of that bound is derived in tests/backend/
// bf16_winograd_test.cpp. Compiled with AVX512-BF16 enabled (CMakeLists.txt); entered only when
// the bf16 setting is on, which requires bf16_supported() (gemm.cpp).
#include <cstdint>

namespace kiln::cpu::winograd {

// out (rows, cols / 2) = X (rows, cols; rows ld floats apart) in bf16, columns paired:
// out[i, j] = (X[i, 2j], X[i, 2j + 1]). cols is a multiple of 16.
void pack_pairs_in_rows(const float* X, int64_t ld, int64_t rows, int64_t cols, uint32_t* out);

// out (ceil(rows / 2), cols) = X (rows, cols; rows ld floats apart) in bf16, rows paired:
// out[i, j] = (X[2i, j], X[2i + 1, j]), a zero in the high half past the last row. cols is a
// multiple of 16.
void pack_pairs_across_rows(const float* X, int64_t ld, int64_t rows, int64_t cols, uint32_t* out);

// C (rows, cols) (+)= Σ_r a-pair(i, r) · b-pair(r, 0:cols) in fp32, a-pair(i, r) at
// a[i·as + r·rs], b's pairs row-major (ldb), cols a multiple of 16, C row-major (ldc).
void gemm_pairs(const uint32_t* a, int64_t as, int64_t rs, int64_t rows, int64_t R, const uint32_t* b, int64_t ldb,
                int64_t cols, float* c, int64_t ldc, bool accumulate);

}  // namespace kiln::cpu::winograd
