#include "backend/cpu/optim.h"

#include "backend/cpu/threads.h"

namespace kiln::cpu {

constexpr int64_t kParallelMin = 1 << 15;

// One pass over memory per update: decay, moments and the step fused per element. The loop
// captures by value: stores to theta could alias captures taken by reference, and GCC would
// then reload them every element instead of vectorising.
template <class Body>
static void update_loop(const Body body, Real* theta, const Real* g, const Real* mask, Real* s0, Real* s1, int64_t n) {
  parallel_for(n, n > kParallelMin, [=](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) body(theta, g, mask, s0, s1, i);
  });
}

void optimizer_update(const math::UpdateRule& rule, Real* theta, const Real* g, const Real* mask, Real* s0, Real* s1,
                      int64_t n) {
  std::visit([&](const auto& r) { r.template with_body<Real>([&](const auto& body) { update_loop(body, theta, g, mask, s0, s1, n); }); },
             rule);
}

}  // namespace kiln::cpu
