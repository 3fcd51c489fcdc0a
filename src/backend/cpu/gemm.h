#pragma once
// Row-major GEMM on raw buffers: C = alpha * op(A) * op(B) + beta * C,
// op(A) is (M,K), op(B) is (K,N), C is (M,N). Leading dimensions are row strides.
#include <cstdint>

#include "tensor/tensor.h"

namespace kiln::cpu {

// Through the BLAS (OpenBLAS sgemm/dgemm).
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, Real alpha, const Real* A,
          int64_t lda, const Real* B, int64_t ldb, Real beta, Real* C, int64_t ldc);

// Triple loop: the algorithmic reference the BLAS path is tested against.
void gemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, Real alpha,
                const Real* A, int64_t lda, const Real* B, int64_t ldb, Real beta, Real* C,
                int64_t ldc);

}  // namespace kiln::cpu
