// Optimizer updates (cpu/optim.h, math in optim/optimizer.h): one kernel over the whole flat
// parameter buffer (parameters, gradients, the decay mask and the moments share one layout),
// decay, moments and the step fused per element, arithmetic in float as on the CPU.
#include <math.h>

#include "backend/cuda/element.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"

namespace kiln::cuda {

namespace {

__global__ void sgd_kernel(float* __restrict__ theta, const float* __restrict__ g, const float* __restrict__ mask,
                           float* v, int64_t n, SgdArgs a) {  // v is g when there is no momentum (unread)
  for (int64_t i = grid_start(); i < n; i += grid_stride()) sgd_at(theta, g, mask, v, i, a);
}

__global__ void adam_kernel(float* __restrict__ theta, const float* __restrict__ g, const float* __restrict__ mask,
                            float* __restrict__ m, float* __restrict__ s, int64_t n, AdamArgs a) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) adam_at(theta, g, mask, m, s, i, a);
}

}  // namespace

void sgd_update(float* theta, const float* g, const float* mask, float* v, int64_t n, const SgdUpdate& u,
                cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(sgd_kernel, blocks_for(n), kThreads, s, theta, g, mask, v, n, sgd_args(u));
}

void adam_update(float* theta, const float* g, const float* mask, float* m, float* sq, int64_t n,
                 const AdamUpdate& u, cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(adam_kernel, blocks_for(n), kThreads, s, theta, g, mask, m, sq, n, adam_args(u));
}

}  // namespace kiln::cuda
