// Optimizer updates (cpu/optim.h): one kernel over the whole flat parameter buffer (parameters,
// gradients, the decay mask and the moments share one layout), running the rule's own
// per-element body (math/update_rules.h), the one the CPU runs.
#include <variant>

#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"

namespace kiln::cuda {

namespace {

template <class Body>
__global__ void update_kernel(Body body, float* theta, const float* __restrict__ g, const float* __restrict__ mask,
                              float* s0, float* s1, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) body(theta, g, mask, s0, s1, i);
}

}  // namespace

void optimizer_update(const math::UpdateRule& rule, float* theta, const float* g, const float* mask, float* s0,
                      float* s1, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  std::visit(
      [&](const auto& r) {
        r.template with_body<float>([&](const auto& body) {
          KILN_LAUNCH(update_kernel, blocks_for(n), kThreads, s, body, theta, g, mask, s0, s1, n);
        });
      },
      rule);
}

}  // namespace kiln::cuda
