#include "backend/cpu/gemm.h"

#include <cblas.h>

namespace kiln::cpu {

[[maybe_unused]] static void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                      const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
[[maybe_unused]] static void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, double alpha,
                      const double* A, int lda, const double* B, int ldb, double beta, double* C,
                      int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, Real alpha, const Real* A,
          int64_t lda, const Real* B, int64_t ldb, Real beta, Real* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  // The CBLAS interface takes int: every kiln GEMM dimension is far below 2^31, and we check.
  KILN_CHECK(M < (1LL << 31) && N < (1LL << 31) && K < (1LL << 31), "GEMM too large for BLAS int");
  blas_gemm(trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
            static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A,
            static_cast<int>(lda), B, static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
}

void gemm_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, Real alpha,
                const Real* A, int64_t lda, const Real* B, int64_t ldb, Real beta, Real* C,
                int64_t ldc) {
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
