// Elementwise kernels: fill, axpy, row bias and its gradient, activations, dropout. Each is one
// grid-stride loop over n elements with 64-bit indices; the math is that of backend/cpu/
// algebra.cpp element for element, and the bodies of backend/math/ (activations, dropout).
#include <cstring>
#include <variant>

#include "backend/cuda/element.h"
#include "backend/math/dropout.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"

namespace kiln::cuda {

namespace {

__global__ void fill_kernel(float* __restrict__ p, float v, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) p[i] = v;
}

__global__ void scale_kernel(float* __restrict__ p, float beta, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) p[i] *= beta;
}

__global__ void axpy_kernel(float alpha, const float* __restrict__ x, float* __restrict__ y, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] += alpha * x[i];
}

// y (N, F) += b (F): element i is in column i % F.
__global__ void add_row_bias_kernel(float* __restrict__ y, const float* __restrict__ b, int64_t n, int64_t F) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] += b[i % F];
}

// db (F) += Σ_n dy (N, F). Block (32, 8): threadIdx.x picks a column of a 32-column tile
// (coalesced reads along the row), threadIdx.y a residue class of rows; the 8 partial sums
// of a column are added in a fixed order.
__global__ void row_sum_kernel(const float* __restrict__ dy, float* __restrict__ db, int64_t N, int64_t F) {
  __shared__ float part[8][33];
  const int64_t j = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  float s = 0;
  if (j < F)
    for (int64_t n = threadIdx.y; n < N; n += 8) s += dy[n * F + j];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && j < F) {
    float t = 0;
    for (int r = 0; r < 8; ++r) t += part[r][threadIdx.x];
    db[j] += t;
  }
}

template <class F>
__global__ void activation_forward_kernel(F f, const float* __restrict__ x, float* __restrict__ y, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = f.forward(x[i]);
}

// dx may alias dy.
template <class F>
__global__ void activation_backward_kernel(F f, const float* saved, const float* dy, float* dx, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] = f.backward(saved[i], dy[i]);
}

__global__ void set_i64_kernel(int64_t* p, int64_t v) { *p = v; }

// The CPU's dropout_mask (cpu/norm.cpp) with the step read from device memory: a graph that
// captured this kernel draws the mask of the step set before each replay.
__global__ void dropout_mask_kernel(uint64_t seed, uint64_t stream, const int64_t* __restrict__ device_step,
                                    int64_t step_delta, double p, float keep, float* __restrict__ scale, int64_t n,
                                    int64_t first) {
  const int64_t step = *device_step + step_delta;
  for (int64_t i = grid_start(); i < n; i += grid_stride())
    scale[i] = math::dropout_scale_at(seed, stream, step, p, keep, first + i);
}

__global__ void dropout_apply_kernel(const float* x, const float* scale, float* y, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = x[i] * scale[i];
}

}  // namespace

void fill(float* p, float value, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  uint32_t bits;
  static_assert(sizeof bits == sizeof value);
  memcpy(&bits, &value, sizeof bits);
  if (bits == 0) {  // +0.0f: all-zero bytes, the copy engine's memset
    KILN_CUDA(cudaMemsetAsync(p, 0, static_cast<size_t>(n) * sizeof(float), s));
    return;
  }
  KILN_LAUNCH(fill_kernel, blocks_for(n), kThreads, s, p, value, n);
}

void scale(float* p, float beta, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  if (beta == 0.0f) return fill(p, 0.0f, n, s);  // BLAS semantics: β = 0 overwrites (NaN too)
  KILN_LAUNCH(scale_kernel, blocks_for(n), kThreads, s, p, beta, n);
}

void axpy(float alpha, const float* x, float* y, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  KILN_LAUNCH(axpy_kernel, blocks_for(n), kThreads, s, alpha, x, y, n);
}

void add_row_bias(float* y, const float* b, int64_t N, int64_t F, cudaStream_t s) {
  if (N <= 0 || F <= 0) return;
  KILN_LAUNCH(add_row_bias_kernel, blocks_for(N * F), kThreads, s, y, b, N * F, F);
}

void accumulate_row_sum(const float* dy, float* db, int64_t N, int64_t F, cudaStream_t s) {
  if (N <= 0 || F <= 0) return;
  const int64_t tiles = (F + 31) / 32;
  KILN_CHECK(tiles <= 0x7fffffff, "accumulate_row_sum: " << F << " columns");
  KILN_LAUNCH(row_sum_kernel, static_cast<unsigned>(tiles), dim3(32, 8), s, dy, db, N, F);
}

void activation_forward(const math::Activation& f, const float* x, float* y, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  std::visit([&](const auto a) { KILN_LAUNCH(activation_forward_kernel, blocks_for(n), kThreads, s, a, x, y, n); }, f);
}

void activation_backward(const math::Activation& f, const float* saved, const float* dy, float* dx, int64_t n,
                         cudaStream_t s) {
  if (n <= 0) return;
  std::visit([&](const auto a) { KILN_LAUNCH(activation_backward_kernel, blocks_for(n), kThreads, s, a, saved, dy, dx, n); },
             f);
}

void set_i64(int64_t* p, int64_t v, cudaStream_t s) { KILN_LAUNCH(set_i64_kernel, 1, 1, s, p, v); }

void dropout_mask(uint64_t seed, uint64_t stream, const int64_t* device_step, int64_t step_delta, float p,
                  float* scale, int64_t n, int64_t first, cudaStream_t s) {
  if (n <= 0) return;
  const float keep = 1.0f / (1.0f - p);  // as the CPU computes it, in float
  KILN_LAUNCH(dropout_mask_kernel, blocks_for(n), kThreads, s, seed, stream, device_step, step_delta,
              static_cast<double>(p), keep, scale, n, first);
}

void dropout_apply(const float* x, const float* scale, float* y, int64_t n, cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(dropout_apply_kernel, blocks_for(n), kThreads, s, x, scale, y, n);
}

cudaError_t probe_kernel_image() {
  cudaFuncAttributes attr;
  return cudaFuncGetAttributes(&attr, fill_kernel);
}

}  // namespace kiln::cuda
