// Elementwise kernels: fill, axpy, row bias and its gradient, activations, dropout. Each is one
// grid-stride loop over n elements with 64-bit indices; the math is that of backend/cpu/
// activation.cpp, algebra.cpp and norm.cpp (dropout), element for element.
#include <cstring>

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

__global__ void relu_forward_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = x[i] > 0 ? x[i] : 0.0f;
}

// dx = dy [x > 0] (0 at the kink, as on the CPU). dx may alias dy.
__global__ void relu_backward_kernel(const float* x, const float* dy, float* dx, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] = x[i] > 0 ? dy[i] : 0.0f;
}

__global__ void leaky_relu_forward_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n, float slope) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = x[i] > 0 ? x[i] : slope * x[i];
}

__global__ void leaky_relu_backward_kernel(const float* x, const float* dy, float* dx, int64_t n, float slope) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] = x[i] > 0 ? dy[i] : slope * dy[i];
}

__global__ void tanh_forward_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) y[i] = tanhf(x[i]);
}

// tanh' = 1 - y²
__global__ void tanh_backward_kernel(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

// Never overflows: for x < 0, σ(x) = eˣ / (1 + eˣ).
__global__ void sigmoid_forward_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const float v = x[i];
    if (v >= 0) {
      y[i] = 1.0f / (1.0f + expf(-v));
    } else {
      const float e = expf(v);
      y[i] = e / (1.0f + e);
    }
  }
}

// σ' = y (1 - y)
__global__ void sigmoid_backward_kernel(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

__global__ void set_i64_kernel(int64_t* p, int64_t v) { *p = v; }

// The CPU's dropout_mask (cpu/norm.cpp) with the step read from device memory: a graph that
// captured this kernel draws the mask of the step set before each replay.
__global__ void dropout_mask_kernel(uint64_t seed, uint64_t stream, const int64_t* __restrict__ device_step,
                                    int64_t step_delta, double p, float keep, float* __restrict__ scale, int64_t n) {
  const int64_t step = *device_step + step_delta;
  for (int64_t i = grid_start(); i < n; i += grid_stride()) scale[i] = math::dropout_scale_at(seed, stream, step, p, keep, i);
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

void relu_forward(const float* x, float* y, int64_t n, cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(relu_forward_kernel, blocks_for(n), kThreads, s, x, y, n);
}
void relu_backward(const float* x, const float* dy, float* dx, int64_t n, cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(relu_backward_kernel, blocks_for(n), kThreads, s, x, dy, dx, n);
}
void leaky_relu_forward(const float* x, float* y, int64_t n, float slope, cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(leaky_relu_forward_kernel, blocks_for(n), kThreads, s, x, y, n, slope);
}
void leaky_relu_backward(const float* x, const float* dy, float* dx, int64_t n, float slope, cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(leaky_relu_backward_kernel, blocks_for(n), kThreads, s, x, dy, dx, n, slope);
}
void tanh_forward(const float* x, float* y, int64_t n, cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(tanh_forward_kernel, blocks_for(n), kThreads, s, x, y, n);
}
void tanh_backward(const float* y, const float* dy, float* dx, int64_t n, cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(tanh_backward_kernel, blocks_for(n), kThreads, s, y, dy, dx, n);
}
void sigmoid_forward(const float* x, float* y, int64_t n, cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(sigmoid_forward_kernel, blocks_for(n), kThreads, s, x, y, n);
}
void sigmoid_backward(const float* y, const float* dy, float* dx, int64_t n, cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(sigmoid_backward_kernel, blocks_for(n), kThreads, s, y, dy, dx, n);
}

void set_i64(int64_t* p, int64_t v, cudaStream_t s) { KILN_LAUNCH(set_i64_kernel, 1, 1, s, p, v); }

void dropout_mask(uint64_t seed, uint64_t stream, const int64_t* device_step, int64_t step_delta, float p,
                  float* scale, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  const float keep = 1.0f / (1.0f - p);  // as the CPU computes it, in float
  KILN_LAUNCH(dropout_mask_kernel, blocks_for(n), kThreads, s, seed, stream, device_step, step_delta,
              static_cast<double>(p), keep, scale, n);
}

void dropout_apply(const float* x, const float* scale, float* y, int64_t n, cudaStream_t s) {
  if (n > 0) KILN_LAUNCH(dropout_apply_kernel, blocks_for(n), kThreads, s, x, scale, y, n);
}

cudaError_t probe_kernel_image() {
  cudaFuncAttributes attr;
  return cudaFuncGetAttributes(&attr, fill_kernel);
}

}  // namespace kiln::cuda
