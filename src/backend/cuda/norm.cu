// Batch normalisation (cpu/norm.h) on x (N, C, S): each channel's statistics are over its
// M = N·S values, the N runs of S contiguous values x[(n·C + c)·S + i].
//
// Reductions are split: a grid (C, splits) of blocks, each summing one contiguous share of a
// channel's M values in double into work[c·splits + split]; a per-channel pass then adds the
// `splits` partials in order. No atomics: the statistics are deterministic.
//
// Training forward, as the CPU computes it:
//   1. s = Σ x                                   (partials)
//   2. μ_r = float(s / M); q = Σ (x - μ_r)²      (partials; two passes, no cancellation)
//   3. σ² = q / M, r = 1/√(σ² + eps), a = float(γ r), b = float(β - (s/M - μ_r) a)
//   4. y = (x - μ_r) a + b
// Backward: s1 = Σ dy, s2 = Σ dy (x - μ) (partials), then per channel
//   dγ += s2 r, dβ += s1, and dx = a dy - c0 - (x - μ) c1 with a = γ r and, with batch
//   statistics, c0 = γ r s1 / M, c1 = γ r³ s2 / M (else c0 = c1 = 0).
#include <climits>
#include <math.h>

#include "backend/cuda/element.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"

namespace kiln::cuda {

namespace {

constexpr int kStatThreads = 256;
constexpr int64_t kMaxSplits = 64;
constexpr int64_t kPerBlock = kStatThreads * 16;  // values a block should sum, at least

int64_t splits_for(int64_t M) {
  int64_t s = (M + kPerBlock - 1) / kPerBlock;
  return s < 1 ? 1 : (s > kMaxSplits ? kMaxSplits : s);
}

// work[c*splits + sp] = Σ x over this block's share of channel c (blockIdx.x = c, blockIdx.y = sp).
// With mu_from (non-null), the sum is of (x - μ_r)², μ_r = float(Σ_sp mu_from[c·splits + sp] / M).
template <class I>
__global__ void bn_stat_kernel(const float* __restrict__ x, int64_t C, I S, I M, const double* __restrict__ mu_from,
                               double* __restrict__ work) {
  __shared__ double shared[32];
  const int64_t c = blockIdx.x, splits = gridDim.y, sp = blockIdx.y;
  float mu = 0;
  if (mu_from) {
    double s = 0;
    for (int64_t k = 0; k < splits; ++k) s += mu_from[c * splits + k];
    mu = static_cast<float>(s / static_cast<double>(M));
  }
  const I begin = static_cast<I>(static_cast<int64_t>(M) * sp / splits);
  const I end = static_cast<I>(static_cast<int64_t>(M) * (sp + 1) / splits);
  double acc = 0;
  for (I j = begin + threadIdx.x; j < end; j += blockDim.x) {
    const float v = x[channel_at(j, S, C, c)];
    if (mu_from) {
      const double d = static_cast<double>(v) - mu;
      acc += d * d;
    } else {
      acc += v;
    }
  }
  acc = block_sum(acc, shared);
  if (threadIdx.x == 0) work[c * splits + sp] = acc;
}

// Per channel (one thread each): the statistics and the affine coefficients of step 3.
__global__ void bn_finalize_kernel(const double* __restrict__ sums, const double* __restrict__ sqs, int64_t C,
                                   int64_t splits, double M, const float* __restrict__ gamma,
                                   const float* __restrict__ beta, float eps, float* __restrict__ mean,
                                   float* __restrict__ var, float* __restrict__ rstd, float* __restrict__ coef) {
  for (int64_t c = grid_start(); c < C; c += grid_stride()) {
    double s = 0, q = 0;
    for (int64_t k = 0; k < splits; ++k) {
      s += sums[c * splits + k];
      q += sqs[c * splits + k];
    }
    const float mu = static_cast<float>(s / M);
    const double mu_lost = s / M - mu;  // the mean's rounding to float, put back through the shift
    const double v = q / M, r = 1.0 / sqrt(v + eps);
    mean[c] = mu;
    var[c] = static_cast<float>(v);
    rstd[c] = static_cast<float>(r);
    const float a = static_cast<float>(gamma[c] * r);
    coef[c] = a;
    coef[C + c] = static_cast<float>(beta[c] - mu_lost * a);
  }
}

// y = (x - shift[c]) a[c] + b[c] with a = coef[0..C), b = coef[C..2C).
__global__ void bn_apply_kernel(const float* __restrict__ x, const float* __restrict__ shift,
                                const float* __restrict__ coef, int64_t n, int64_t C, int64_t S,
                                float* __restrict__ y) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const int64_t c = (i / S) % C;
    y[i] = (x[i] - shift[c]) * coef[c] + coef[C + c];
  }
}

// Eval: rstd = 1/√(running_var + eps) in double, then y = (x - running_mean) (γ rstd) + β in
// float, as the CPU computes it.
__global__ void bn_eval_rstd_kernel(const float* __restrict__ running_var, int64_t C, float eps,
                                    float* __restrict__ rstd) {
  for (int64_t c = grid_start(); c < C; c += grid_stride())
    rstd[c] = static_cast<float>(1.0 / sqrt(static_cast<double>(running_var[c]) + eps));
}

__global__ void bn_eval_apply_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                                     const float* __restrict__ beta, const float* __restrict__ running_mean,
                                     const float* __restrict__ rstd, int64_t n, int64_t C, int64_t S,
                                     float* __restrict__ y) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const int64_t c = (i / S) % C;
    y[i] = (x[i] - running_mean[c]) * (gamma[c] * rstd[c]) + beta[c];
  }
}

__global__ void bn_running_kernel(const float* __restrict__ mean, const float* __restrict__ var, int64_t C,
                                  double unbias, double m, float* __restrict__ running_mean,
                                  float* __restrict__ running_var) {
  for (int64_t c = grid_start(); c < C; c += grid_stride()) {
    running_mean[c] = static_cast<float>((1 - m) * running_mean[c] + m * mean[c]);
    running_var[c] = static_cast<float>((1 - m) * running_var[c] + m * var[c] * unbias);
  }
}

// work1 = Σ dy, work2 = Σ dy (x - μ) over the block's share of channel c.
template <class I>
__global__ void bn_grad_stat_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                    const float* __restrict__ mean, int64_t C, I S, I M, double* __restrict__ work1,
                                    double* __restrict__ work2) {
  __shared__ double shared[32];
  const int64_t c = blockIdx.x, splits = gridDim.y, sp = blockIdx.y;
  const float mu = mean[c];
  const I begin = static_cast<I>(static_cast<int64_t>(M) * sp / splits);
  const I end = static_cast<I>(static_cast<int64_t>(M) * (sp + 1) / splits);
  double s1 = 0, s2 = 0;
  for (I j = begin + threadIdx.x; j < end; j += blockDim.x) {
    const int64_t k = channel_at(j, S, C, c);
    const float g = dy[k];
    s1 += g;
    s2 += static_cast<double>(g) * (x[k] - mu);
  }
  s1 = block_sum(s1, shared);
  s2 = block_sum(s2, shared);
  if (threadIdx.x == 0) {
    work1[c * splits + sp] = s1;
    work2[c * splits + sp] = s2;
  }
}

// Per channel: dγ, dβ and the coefficients (a, c0, c1) of dx.
__global__ void bn_grad_finalize_kernel(const double* __restrict__ work1, const double* __restrict__ work2, int64_t C,
                                        int64_t splits, double M, const float* __restrict__ rstd,
                                        const float* __restrict__ gamma, bool batch_stats,
                                        float* __restrict__ dgamma, float* __restrict__ dbeta,
                                        float* __restrict__ coef) {
  for (int64_t c = grid_start(); c < C; c += grid_stride()) {
    double s1 = 0, s2 = 0;
    for (int64_t k = 0; k < splits; ++k) {
      s1 += work1[c * splits + k];
      s2 += work2[c * splits + k];
    }
    const double r = rstd[c], g = gamma[c];
    dgamma[c] += static_cast<float>(s2 * r);
    dbeta[c] += static_cast<float>(s1);
    coef[c] = static_cast<float>(g * r);
    coef[C + c] = batch_stats ? static_cast<float>(g * r * s1 / M) : 0.0f;
    coef[2 * C + c] = batch_stats ? static_cast<float>(g * r * r * r * s2 / M) : 0.0f;
  }
}

// dx = a dy - c0 - (x - μ) c1. dx may alias dy.
__global__ void bn_grad_apply_kernel(const float* x, const float* dy, const float* __restrict__ mean,
                                     const float* __restrict__ coef, int64_t n, int64_t C, int64_t S, float* dx) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    const int64_t c = (i / S) % C;
    dx[i] = coef[c] * dy[i] - coef[C + c] - (x[i] - mean[c]) * coef[2 * C + c];
  }
}

unsigned channel_blocks(int64_t C) { return blocks_for(C, 128); }

bool fits32(int64_t n) { return n < static_cast<int64_t>(INT_MAX); }

// Layout of the scratch: [sums (C·splits) | squares (C·splits) | coefficients (3C floats,
// stored in ceil(3C/2) doubles)].
struct Work {
  double* a;
  double* b;
  float* coef;
};
Work carve(double* work, int64_t C, int64_t splits) {
  return {work, work + C * splits, reinterpret_cast<float*>(work + 2 * C * splits)};
}

}  // namespace

int64_t batchnorm_work_doubles(int64_t N, int64_t C, int64_t S) {
  return 2 * C * splits_for(N * S) + (3 * C + 1) / 2 + 1;
}

void batchnorm_forward_train(const float* x, const float* gamma, const float* beta, int64_t N, int64_t C, int64_t S,
                             float eps, float* y, float* mean, float* var, float* rstd, double* work, cudaStream_t s) {
  const int64_t M = N * S;
  if (C <= 0 || M <= 0) return;
  const int64_t splits = splits_for(M);
  const Work w = carve(work, C, splits);
  const dim3 grid(static_cast<unsigned>(C), static_cast<unsigned>(splits));
  KILN_CHECK(C <= INT_MAX, "batchnorm: " << C << " channels");
  if (fits32(M)) {
    const auto S32 = static_cast<uint32_t>(S), M32 = static_cast<uint32_t>(M);
    bn_stat_kernel<uint32_t><<<grid, kStatThreads, 0, s>>>(x, C, S32, M32, nullptr, w.a);
    KILN_LAUNCHED("bn_stat_kernel (sum)", s);
    bn_stat_kernel<uint32_t><<<grid, kStatThreads, 0, s>>>(x, C, S32, M32, w.a, w.b);
    KILN_LAUNCHED("bn_stat_kernel (squares)", s);
  } else {
    bn_stat_kernel<int64_t><<<grid, kStatThreads, 0, s>>>(x, C, S, M, nullptr, w.a);
    KILN_LAUNCHED("bn_stat_kernel (sum)", s);
    bn_stat_kernel<int64_t><<<grid, kStatThreads, 0, s>>>(x, C, S, M, w.a, w.b);
    KILN_LAUNCHED("bn_stat_kernel (squares)", s);
  }
  KILN_LAUNCH(bn_finalize_kernel, channel_blocks(C), 128, s, w.a, w.b, C, splits, static_cast<double>(M), gamma, beta,
              eps, mean, var, rstd, w.coef);
  KILN_LAUNCH(bn_apply_kernel, blocks_for(N * C * S), kThreads, s, x, mean, w.coef, N * C * S, C, S, y);
}

void batchnorm_forward_eval(const float* x, const float* gamma, const float* beta, const float* running_mean,
                            const float* running_var, int64_t N, int64_t C, int64_t S, float eps, float* y,
                            float* rstd, cudaStream_t s) {
  if (C <= 0) return;
  KILN_LAUNCH(bn_eval_rstd_kernel, channel_blocks(C), 128, s, running_var, C, eps, rstd);
  const int64_t n = N * C * S;
  if (n > 0)
    KILN_LAUNCH(bn_eval_apply_kernel, blocks_for(n), kThreads, s, x, gamma, beta, running_mean, rstd, n, C, S, y);
}

void batchnorm_update_running(const float* mean, const float* var, int64_t C, int64_t count, float momentum,
                              float* running_mean, float* running_var, cudaStream_t s) {
  if (C <= 0) return;
  const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
  KILN_LAUNCH(bn_running_kernel, channel_blocks(C), 128, s, mean, var, C, unbias, static_cast<double>(momentum),
              running_mean, running_var);
}

void batchnorm_backward(const float* x, const float* dy, const float* mean, const float* rstd, const float* gamma,
                        int64_t N, int64_t C, int64_t S, bool batch_stats, float* dx, float* dgamma, float* dbeta,
                        double* work, cudaStream_t s) {
  const int64_t M = N * S;
  if (C <= 0 || M <= 0) return;
  KILN_CHECK(C <= INT_MAX, "batchnorm: " << C << " channels");
  const int64_t splits = splits_for(M);
  const Work w = carve(work, C, splits);
  const dim3 grid(static_cast<unsigned>(C), static_cast<unsigned>(splits));
  if (fits32(M)) {
    bn_grad_stat_kernel<uint32_t><<<grid, kStatThreads, 0, s>>>(x, dy, mean, C, static_cast<uint32_t>(S),
                                                                 static_cast<uint32_t>(M), w.a, w.b);
  } else {
    bn_grad_stat_kernel<int64_t><<<grid, kStatThreads, 0, s>>>(x, dy, mean, C, S, M, w.a, w.b);
  }
  KILN_LAUNCHED("bn_grad_stat_kernel", s);
  KILN_LAUNCH(bn_grad_finalize_kernel, channel_blocks(C), 128, s, w.a, w.b, C, splits, static_cast<double>(M), rstd,
              gamma, batch_stats, dgamma, dbeta, w.coef);
  if (dx) KILN_LAUNCH(bn_grad_apply_kernel, blocks_for(N * C * S), kThreads, s, x, dy, mean, w.coef, N * C * S, C, S, dx);
}

}  // namespace kiln::cuda
