#include "backend/cpu/activation.h"

#include "backend/cpu/threads.h"

namespace kiln::cpu {

// Elementwise loops are memory bound: split them over the threads only when large enough
// to pay for waking the pool.
constexpr int64_t kParallelMin = 1 << 16;

// f(i) for i in [0, n), vectorised within each thread's range. The bodies take their operands
// as values (loaded before they choose between them: a load inside one arm of a ?: is
// conditional, and GCC then leaves the loop scalar).
template <class F>
static void elementwise(int64_t n, F f) {
  parallel_for(n, n > kParallelMin, [&](int64_t begin, int64_t end) {
    // A local copy: the stores through y could alias the shared closure's captures (a float
    // slope, the pointers), which would then be reloaded every element.
    const F local = f;
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) local(i);
  });
}

void activation_forward(const math::Activation& act, const Real* x, Real* y, int64_t n) {
  std::visit([&](const auto a) { elementwise(n, [=](int64_t i) { y[i] = a.forward(x[i]); }); }, act);
}

void activation_backward(const math::Activation& act, const Real* saved, const Real* dy, Real* dx, int64_t n) {
  std::visit(
      [&](const auto a) {
        elementwise(n, [=](int64_t i) {
          const Real s = saved[i], g = dy[i];
          dx[i] = a.backward(s, g);
        });
      },
      act);
}

}  // namespace kiln::cpu
