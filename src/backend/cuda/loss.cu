// Losses (cpu/loss.h), reduced on the device: per-row (or per-block) partial losses in double,
// then one block adds them in a fixed order, so the loss of a batch is deterministic.
#include <math.h>

#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"

namespace kiln::cuda {

namespace {

// One warp per row of z (N, K), rows grid-strided over the warps. Max-subtracted like the CPU
// kernel, with the exponentials, the log-sum and the loss in double:
//   p = softmax(z),  q = on at the label, off elsewhere,
//   row_loss[n] = -Σ_k q_k log p_k,   dz = (p - q) / N,   probs = p.
__global__ void softmax_xent_kernel(const float* __restrict__ z, const float* __restrict__ labels, int64_t N,
                                    int64_t K, double on, double off, float* __restrict__ probs,
                                    float* __restrict__ dz, double* __restrict__ row_loss) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = grid_stride() >> 5;
  const double dN = static_cast<double>(N);
  for (int64_t n = grid_start() >> 5; n < N; n += warps) {
    const float* zn = z + n * K;
    const auto y = static_cast<int64_t>(labels[n]);
    float mx = -INFINITY;
    for (int64_t k = lane; k < K; k += 32) mx = fmaxf(mx, zn[k]);
    mx = warp_max(mx);
    double sum = 0;
    for (int64_t k = lane; k < K; k += 32) sum += exp(static_cast<double>(zn[k]) - mx);
    sum = __shfl_sync(0xffffffffu, warp_sum(sum), 0);
    const double log_sum = log(sum);
    double loss = 0;
    for (int64_t k = lane; k < K; k += 32) {
      const double logp = static_cast<double>(zn[k]) - mx - log_sum;
      const double q = k == y ? on : off;
      if (q != 0) loss -= q * logp;
      const double p = exp(logp);
      if (probs) probs[n * K + k] = static_cast<float>(p);
      if (dz) dz[n * K + k] = static_cast<float>((p - q) / dN);
    }
    loss = warp_sum(loss);
    if (lane == 0) row_loss[n] = loss;
  }
}

// *out = (Σ v) / divisor, one block, a fixed order of additions.
__global__ void sum_kernel(const double* __restrict__ v, int64_t n, double divisor, double* __restrict__ out) {
  __shared__ double shared[32];
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += v[i];
  s = block_sum(s, shared);
  if (threadIdx.x == 0) *out = s / divisor;
}

// work[block] = Σ ½ (y - t)² over the block's elements; dy = (y - t) / N.
__global__ void mse_kernel(const float* __restrict__ y, const float* __restrict__ t, int64_t n, double dN,
                           float* __restrict__ dy, double* __restrict__ work) {
  __shared__ double shared[32];
  double s = 0;
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const double d = static_cast<double>(y[i]) - t[i];
    s += 0.5 * d * d;
    if (dy) dy[i] = static_cast<float>(d / dN);
  }
  s = block_sum(s, shared);
  if (threadIdx.x == 0) work[blockIdx.x] = s;
}

// work[block] = Σ x² over the block's elements.
__global__ void sum_squares_kernel(const float* __restrict__ x, int64_t n, double* __restrict__ work) {
  __shared__ double shared[32];
  double s = 0;
  for (int64_t i = grid_start(); i < n; i += grid_stride()) s += static_cast<double>(x[i]) * x[i];
  s = block_sum(s, shared);
  if (threadIdx.x == 0) work[blockIdx.x] = s;
}

__global__ void nan_kernel(double* out) { *out = NAN; }

}  // namespace

void softmax_xent(const float* z, const float* labels, int64_t N, int64_t K, float smoothing, float* probs, float* dz,
                  double* row_loss, double* loss, cudaStream_t s) {
  if (N <= 0 || K <= 0) {  // the CPU's 0 / 0
    KILN_LAUNCH(nan_kernel, 1, 1, s, loss);
    return;
  }
  const double off = static_cast<double>(smoothing) / static_cast<double>(K);
  const double on = 1.0 - static_cast<double>(smoothing) + off;
  const int64_t threads = N * 32;
  KILN_LAUNCH(softmax_xent_kernel, blocks_for(threads), kThreads, s, z, labels, N, K, on, off, probs, dz, row_loss);
  KILN_LAUNCH(sum_kernel, 1, 1024, s, row_loss, N, static_cast<double>(N), loss);
}

void mse(const float* y, const float* t, int64_t N, int64_t F, float* dy, double* work, double* loss, cudaStream_t s) {
  if (N <= 0) {
    KILN_LAUNCH(nan_kernel, 1, 1, s, loss);
    return;
  }
  const int64_t n = N * F;
  int64_t blocks = (n + kThreads - 1) / kThreads;
  if (blocks > kMseWorkDoubles) blocks = kMseWorkDoubles;
  if (blocks < 1) blocks = 1;
  KILN_LAUNCH(mse_kernel, static_cast<unsigned>(blocks), kThreads, s, y, t, n, static_cast<double>(N), dy, work);
  KILN_LAUNCH(sum_kernel, 1, 1024, s, work, blocks, static_cast<double>(N), loss);
}

void sum_squares(const float* x, int64_t n, double* work, double* out, cudaStream_t s) {
  int64_t blocks = (n + kThreads - 1) / kThreads;
  if (blocks > kMseWorkDoubles) blocks = kMseWorkDoubles;
  if (blocks < 1) blocks = 1;
  KILN_LAUNCH(sum_squares_kernel, static_cast<unsigned>(blocks), kThreads, s, x, n, work);
  KILN_LAUNCH(sum_kernel, 1, 1024, s, work, blocks, 1.0, out);
}

}  // namespace kiln::cuda
