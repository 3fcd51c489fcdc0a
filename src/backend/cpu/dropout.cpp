#include "backend/cpu/dropout.h"

#include "backend/cpu/threads.h"
#include "backend/math/dropout.h"

namespace kiln::cpu {

constexpr int64_t kParallelMin = 1 << 16;

// u_i = hash_uniform(seed, stream, counter_i), counter_i = step << 32 ^ i. Three splitmix64
// rounds per element (inline, so the loop vectorises): enough work to thread earlier than the
// memory-bound loops.
void dropout_mask(uint64_t seed, uint64_t stream, int64_t step, Real p, Real* scale, int64_t n, int64_t first) {
  const Real keep = Real(1) / (Real(1) - p);
  const double pd = p;
  // By value: a capture by reference would be a conditional load (stores to scale may alias it),
  // which keeps GCC from vectorising the loop.
  parallel_for(n, n > kParallelMin / 8, [=](int64_t i_begin, int64_t i_end) {
#pragma omp simd
    for (int64_t i = i_begin; i < i_end; ++i) {
      scale[i] = math::dropout_scale_at(seed, stream, step, pd, keep, first + i);
    }
  });
}

void dropout_apply(const Real* x, const Real* scale, Real* y, int64_t n) {
  parallel_for(n, n > kParallelMin, [&](int64_t i_begin, int64_t i_end) {
#pragma omp simd
    for (int64_t i = i_begin; i < i_end; ++i) y[i] = x[i] * scale[i];
  });
}

}  // namespace kiln::cpu
