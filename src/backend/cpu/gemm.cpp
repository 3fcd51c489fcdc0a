#include "backend/cpu/gemm.h"

#include <algorithm>

#include "backend/cpu/blas.h"
#include "backend/cpu/threads.h"

namespace kiln::cpu {

[[maybe_unused]] static void blas_gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                      int ldb, float beta, float* C, int ldc) {
  blas_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
[[maybe_unused]] static void blas_gemm(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda,
                                       const double* B, int ldb, double beta, double* C, int ldc) {
  blas_dgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Large GEMMs are split into one block of C per thread along its longer side (columns of B or
// rows of A), each computed by the single-threaded BLAS: one thread pool for all of kiln.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, Real alpha, const Real* A, int64_t lda,
          const Real* B, int64_t ldb, Real beta, Real* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  // The CBLAS interface takes int: every kiln GEMM dimension is far below 2^31, and we check.
  KILN_CHECK(M < (1LL << 31) && N < (1LL << 31) && K < (1LL << 31) && lda < (1LL << 31) && ldb < (1LL << 31),
             "GEMM too large for BLAS int");
  const int threads = in_parallel() ? 1 : thread_count();
  const bool split = threads > 1 && M * N * std::max<int64_t>(K, 1) >= (int64_t{1} << 18);
  if (!split) {
    blas_gemm(trans_a, trans_b, static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A,
              static_cast<int>(lda), B, static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
    return;
  }
  const bool by_cols = N >= M;
  const int64_t len = by_cols ? N : M;
  // Blocks of a multiple of 16 (one AVX-512 register of floats) keep each thread's stores aligned.
  const int64_t block = std::max<int64_t>(16, (len / threads + 15) / 16 * 16);
  const int64_t blocks = (len + block - 1) / block;
  parallel_for(blocks, true, [&](int64_t b0, int64_t b1) {
    for (int64_t start = b0 * block; start < std::min(len, b1 * block); start += block) {
      const int64_t n = std::min(block, len - start);
      if (by_cols) {
        const Real* b = trans_b ? B + start * ldb : B + start;
        blas_gemm(trans_a, trans_b, static_cast<int>(M), static_cast<int>(n), static_cast<int>(K), alpha, A,
                  static_cast<int>(lda), b, static_cast<int>(ldb), beta, C + start, static_cast<int>(ldc));
      } else {
        const Real* a = trans_a ? A + start : A + start * lda;
        blas_gemm(trans_a, trans_b, static_cast<int>(n), static_cast<int>(N), static_cast<int>(K), alpha, a,
                  static_cast<int>(lda), B, static_cast<int>(ldb), beta, C + start * ldc, static_cast<int>(ldc));
      }
    }
  });
}

void gemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, Real alpha, const Real* A, int64_t lda,
                const Real* B, int64_t ldb, Real beta, Real* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        Real a = trans_a ? A[k * lda + i] : A[i * lda + k];
        Real b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += static_cast<double>(a) * b;
      }
      Real& c = C[i * ldc + j];
      c = static_cast<Real>(alpha * acc + (beta == Real(0) ? Real(0) : beta * c));
    }
}

}  // namespace kiln::cpu
