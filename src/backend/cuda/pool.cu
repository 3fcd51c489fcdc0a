// Pooling (cpu/pool.h), with the per-element math both backends share (math/pool.h). Forward:
// one thread per output. Backward: one thread per input pixel, which gathers the gradient of
// every window that contains it (no atomics, no separate zero fill of dx).
#include "backend/math/pool.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"

namespace kiln::cuda {

namespace {

__global__ void maxpool_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                       uint8_t* __restrict__ argmax, PoolDims g) {
  const int64_t n = g.planes() * g.P * g.Q;
  for (int64_t o = grid_start(); o < n; o += grid_stride()) {
    int at = 0;
    y[o] = math::maxpool_at(x, g, o, &at);
    argmax[o] = static_cast<uint8_t>(at);
  }
}

__global__ void maxpool_backward_kernel(const float* __restrict__ dy, const uint8_t* __restrict__ argmax,
                                        float* __restrict__ dx, PoolDims g) {
  const int64_t n = g.planes() * g.H * g.W;
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] = math::maxpool_grad_at(dy, argmax, g, i);
}

__global__ void avgpool_forward_kernel(const float* __restrict__ x, float* __restrict__ y, PoolDims g, float inv) {
  const int64_t n = g.planes() * g.P * g.Q;
  for (int64_t o = grid_start(); o < n; o += grid_stride()) y[o] = math::avgpool_at(x, g, o, inv);
}

__global__ void avgpool_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx, PoolDims g, float inv) {
  const int64_t n = g.planes() * g.H * g.W;
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] = math::avgpool_grad_at(dy, g, i, inv);
}

// One warp per plane (grid-strided): y = mean of the plane.
__global__ void global_avgpool_forward_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t planes,
                                              int64_t HW, float inv) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = grid_stride() >> 5;
  for (int64_t pl = grid_start() >> 5; pl < planes; pl += warps) {
    const float* xp = x + pl * HW;
    float s = 0;
    for (int64_t i = lane; i < HW; i += 32) s += xp[i];
    s = warp_sum(s);
    if (lane == 0) y[pl] = s * inv;
  }
}

__global__ void global_avgpool_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx, int64_t n,
                                               int64_t HW, float inv) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] = dy[i / HW] * inv;
}

}  // namespace

void maxpool_forward(const float* x, float* y, uint8_t* argmax, const PoolDims& d, cudaStream_t s) {
  const int64_t n = d.N * d.C * d.P * d.Q;
  if (n <= 0) return;
  KILN_CHECK(d.k >= 1 && d.k <= 16, "maxpool: window " << d.k << " does not fit the one-byte argmax");
  KILN_LAUNCH(maxpool_forward_kernel, blocks_for(n), kThreads, s, x, y, argmax, d);
}

void maxpool_backward(const float* dy, const uint8_t* argmax, float* dx, const PoolDims& d, cudaStream_t s) {
  const int64_t n = d.N * d.C * d.H * d.W;
  if (n <= 0) return;
  KILN_LAUNCH(maxpool_backward_kernel, blocks_for(n), kThreads, s, dy, argmax, dx, d);
}

void avgpool_forward(const float* x, float* y, const PoolDims& d, cudaStream_t s) {
  const int64_t n = d.N * d.C * d.P * d.Q;
  if (n <= 0) return;
  const float inv = 1.0f / static_cast<float>(d.k * d.k);
  KILN_LAUNCH(avgpool_forward_kernel, blocks_for(n), kThreads, s, x, y, d, inv);
}

void avgpool_backward(const float* dy, float* dx, const PoolDims& d, cudaStream_t s) {
  const int64_t n = d.N * d.C * d.H * d.W;
  if (n <= 0) return;
  const float inv = 1.0f / static_cast<float>(d.k * d.k);
  KILN_LAUNCH(avgpool_backward_kernel, blocks_for(n), kThreads, s, dy, dx, d, inv);
}

void global_avgpool_forward(const float* x, float* y, int64_t planes, int64_t HW, cudaStream_t s) {
  if (planes <= 0 || HW <= 0) return;
  const float inv = 1.0f / static_cast<float>(HW);
  KILN_LAUNCH(global_avgpool_forward_kernel, blocks_for(planes * 32), kThreads, s, x, y, planes, HW, inv);
}

void global_avgpool_backward(const float* dy, float* dx, int64_t planes, int64_t HW, cudaStream_t s) {
  const int64_t n = planes * HW;
  if (n <= 0) return;
  const float inv = 1.0f / static_cast<float>(HW);
  KILN_LAUNCH(global_avgpool_backward_kernel, blocks_for(n), kThreads, s, dy, dx, n, HW, inv);
}

}  // namespace kiln::cuda
