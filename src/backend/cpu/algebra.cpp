#include "backend/cpu/algebra.h"

#include <algorithm>

#include "backend/cpu/threads.h"

namespace kiln::cpu {

constexpr int64_t kParallelMin = 1 << 16;

void add_row_bias(Real* y, const Real* b, int64_t N, int64_t F) {
  parallel_for(N, N * F > kParallelMin, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
#pragma omp simd
      for (int64_t j = 0; j < F; ++j) y[n * F + j] += b[j];
  });
}

void accumulate_row_sum(const Real* dy, Real* db, int64_t N, int64_t F) {
  for (int64_t n = 0; n < N; ++n)
#pragma omp simd
    for (int64_t j = 0; j < F; ++j) db[j] += dy[n * F + j];
}

void axpy(Real alpha, const Real* x, Real* y, int64_t n) {
  parallel_for(n, n > kParallelMin, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) y[i] += alpha * x[i];
  });
}

void scale(Real* x, Real alpha, int64_t n) {
  parallel_for(n, n > kParallelMin, [=](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) x[i] *= alpha;
  });
}

double sum_squares(const Real* x, int64_t n) {
  constexpr int kMaxParts = 64;
  double parts[kMaxParts] = {};
  const int64_t chunk = std::max<int64_t>(1, (n + kMaxParts - 1) / kMaxParts);
  parallel_for(kMaxParts, n > kParallelMin, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      double s = 0;
      const int64_t end = std::min(n, (p + 1) * chunk);
#pragma omp simd reduction(+ : s)
      for (int64_t i = p * chunk; i < end; ++i) s += static_cast<double>(x[i]) * x[i];
      parts[p] = s;
    }
  });
  double total = 0;
  for (double s : parts) total += s;  // a fixed order whatever the thread count
  return total;
}

}  // namespace kiln::cpu
