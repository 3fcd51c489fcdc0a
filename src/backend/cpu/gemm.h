#pragma once
// Row-major GEMM on raw buffers: C = alpha * op(A) * op(B) + beta * C,
// op(A) is (M,K), op(B) is (K,N), C is (M,N). Leading dimensions are row strides.
#include <cstdint>

#include "tensor/tensor.h"

namespace kiln::cpu {

// Through the BLAS (OpenBLAS sgemm/dgemm), or the bf16 kernel of gemm_bf16.h while
// set_gemm_bf16(true) holds (mixed-precision training: inputs rounded to bf16, fp32 sums).
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, Real alpha, const Real* A,
          int64_t lda, const Real* B, int64_t ldb, Real beta, Real* C, int64_t ldc);

// Whether gemm() (and so dense layers and the lowered convolutions, which conv.cpp then takes
// for every shape) rounds its inputs to bf16; returns the previous setting. Throws kiln::Error
// when asked on a CPU without AVX512-BF16, or in the double build.
bool set_gemm_bf16(bool on);
bool gemm_bf16_enabled();

// Triple loop: the algorithmic reference the BLAS path is tested against.
void gemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, Real alpha,
                const Real* A, int64_t lda, const Real* B, int64_t ldb, Real beta, Real* C,
                int64_t ldc);

}  // namespace kiln::cpu
