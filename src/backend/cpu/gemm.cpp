#include "backend/cpu/gemm.h"

#include <algorithm>

#include "backend/cpu/blas.h"
#include "backend/cpu/gemm_bf16.h"
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

namespace {

bool g_bf16 = false;

// Large GEMMs are split into one block of C per thread along its longer side (columns of B or
// rows of A), each computed by `serial` (the single-threaded BLAS, or the bf16 kernel): one
// thread pool for all of kiln.
template <class Serial>
void split_gemm(Serial&& serial, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const Real* A,
                int64_t lda, const Real* B, int64_t ldb, Real* C, int64_t ldc) {
  const int threads = in_parallel() ? 1 : thread_count();
  const bool split = threads > 1 && M * N * std::max<int64_t>(K, 1) >= (int64_t{1} << 18);
  if (!split) return serial(M, N, A, B, C);
  const bool by_cols = N >= M;
  const int64_t len = by_cols ? N : M;
  // Blocks of a multiple of 16 (one AVX-512 register of floats) keep each thread's stores aligned.
  const int64_t block = std::max<int64_t>(16, (len / threads + 15) / 16 * 16);
  const int64_t blocks = (len + block - 1) / block;
  parallel_for(blocks, true, [&](int64_t b0, int64_t b1) {
    for (int64_t start = b0 * block; start < std::min(len, b1 * block); start += block) {
      const int64_t n = std::min(block, len - start);
      if (by_cols)
        serial(M, n, A, trans_b ? B + start * ldb : B + start, C + start);
      else
        serial(n, N, trans_a ? A + start : A + start * lda, B, C + start * ldc);
    }
  });
}

}  // namespace

bool set_gemm_bf16(bool on) {
  if (on) {
    KILN_REQUIRE(sizeof(Real) == sizeof(float), "bf16 GEMMs exist in the float build only (this is the double one)");
    KILN_REQUIRE(bf16_supported(), "train.precision = \"bf16\" needs a CPU with AVX512-BF16 (vdpbf16ps; avx512_bf16 "
                                       "in lscpu's flags), which this one lacks; use \"fp32\"; no slower fallback is "
                                       "taken in its place, so that a run's config says what ran");
  }
  std::swap(g_bf16, on);
  return on;
}

bool gemm_bf16_enabled() { return g_bf16; }

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, Real alpha, const Real* A, int64_t lda,
          const Real* B, int64_t ldb, Real beta, Real* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if constexpr (sizeof(Real) == sizeof(float)) {
    if (g_bf16) {
      return split_gemm(
          [&](int64_t m, int64_t n, const Real* a, const Real* b, Real* c) {
            // Casts for the double build, where g_bf16 is never set (set_gemm_bf16 refuses).
            gemm_bf16_serial(trans_a, trans_b, m, n, K, static_cast<float>(alpha), reinterpret_cast<const float*>(a),
                             lda, reinterpret_cast<const float*>(b), ldb, static_cast<float>(beta),
                             reinterpret_cast<float*>(c), ldc);
          },
          trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
    }
  }
  // The CBLAS interface takes int: every kiln GEMM dimension is far below 2^31, and we check.
  KILN_CHECK(M < (1LL << 31) && N < (1LL << 31) && K < (1LL << 31) && lda < (1LL << 31) && ldb < (1LL << 31),
             "GEMM too large for BLAS int");
  auto i32 = [](int64_t v) { return static_cast<int>(v); };
  split_gemm(
      [&](int64_t m, int64_t n, const Real* a, const Real* b, Real* c) {
        blas_gemm(trans_a, trans_b, i32(m), i32(n), i32(K), alpha, a, i32(lda), b, i32(ldb), beta, c, i32(ldc));
      },
      trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc);
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
