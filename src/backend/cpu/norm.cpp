#include "backend/cpu/norm.h"

#include "backend/cpu/threads.h"

#include <algorithm>
#include <cmath>

#include "tensor/rng.h"

namespace kiln::cpu {

namespace {

// Below this many elements the loops are too short to pay for waking the thread pool.
constexpr int64_t kParallelMin = 1 << 16;
// (N, F) input: features are the contiguous axis, so the statistics of a block of kBlock
// features are summed row by row, vectorised across the block (double sums: 1 KiB in L1).
// Blocks are independent and split over the threads when F is large.
constexpr int64_t kBlock = 128;
// Outputs are (x - μ_r) a + b with μ_r the mean rounded to Real (so x - μ_r is exact for x near
// μ) and b = β - (μ - μ_r) a: the rounding is put back through the shift, and y keeps the
// precision of x - μ even when |μ| ≫ σ.

int64_t blocks(int64_t F) { return (F + kBlock - 1) / kBlock; }

void forward_train_rows(const Real* x, const Real* gamma, const Real* beta, int64_t N, int64_t F, Real eps, Real* y,
                        Real* mean, Real* var, Real* rstd) {
  const int64_t nb = blocks(F);
  parallel_for(nb, nb > 1 && N * F > kParallelMin, [&](int64_t blk_begin, int64_t blk_end) {
    for (int64_t blk = blk_begin; blk < blk_end; ++blk) {
      const int64_t j0 = blk * kBlock, w = std::min(kBlock, F - j0);
      double s[kBlock], q[kBlock];
      Real mu[kBlock], a[kBlock], b[kBlock];
      for (int64_t j = 0; j < w; ++j) s[j] = q[j] = 0;
      for (int64_t n = 0; n < N; ++n) {
        const Real* xr = x + n * F + j0;
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) s[j] += xr[j];
      }
      for (int64_t j = 0; j < w; ++j) mu[j] = static_cast<Real>(s[j] / static_cast<double>(N));
      for (int64_t n = 0; n < N; ++n) {
        const Real* xr = x + n * F + j0;
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) {
          const double d = static_cast<double>(xr[j]) - mu[j];
          q[j] += d * d;
        }
      }
      for (int64_t j = 0; j < w; ++j) {
        const double v = q[j] / static_cast<double>(N);
        const double r = 1.0 / std::sqrt(v + eps);
        mean[j0 + j] = mu[j];
        var[j0 + j] = static_cast<Real>(v);
        rstd[j0 + j] = static_cast<Real>(r);
        a[j] = static_cast<Real>(gamma[j0 + j] * r);
        b[j] = static_cast<Real>(beta[j0 + j] - (s[j] / static_cast<double>(N) - mu[j]) * a[j]);
      }
      for (int64_t n = 0; n < N; ++n) {
        const Real* xr = x + n * F + j0;
        Real* yr = y + n * F + j0;
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) yr[j] = (xr[j] - mu[j]) * a[j] + b[j];
      }
    }
  });
}

void backward_rows(const Real* x, const Real* dy, const Real* mean, const Real* rstd, const Real* gamma, int64_t N,
                   int64_t F, bool batch_stats, Real* dx, Real* dgamma, Real* dbeta) {
  const int64_t nb = blocks(F);
  parallel_for(nb, nb > 1 && N * F > kParallelMin, [&](int64_t blk_begin, int64_t blk_end) {
    for (int64_t blk = blk_begin; blk < blk_end; ++blk) {
      const int64_t j0 = blk * kBlock, w = std::min(kBlock, F - j0);
      double sdy[kBlock], sdyx[kBlock];  // Σ dy, Σ dy (x - μ)
      Real a[kBlock], c0[kBlock], c1[kBlock];
      const Real* mu = mean + j0;
      for (int64_t j = 0; j < w; ++j) sdy[j] = sdyx[j] = 0;
      for (int64_t n = 0; n < N; ++n) {
        const Real* xr = x + n * F + j0;
        const Real* gr = dy + n * F + j0;
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) {
          sdy[j] += gr[j];
          sdyx[j] += static_cast<double>(gr[j]) * (xr[j] - mu[j]);
        }
      }
      for (int64_t j = 0; j < w; ++j) {
        const double r = rstd[j0 + j], g = gamma[j0 + j];
        dgamma[j0 + j] += static_cast<Real>(sdyx[j] * r);
        dbeta[j0 + j] += static_cast<Real>(sdy[j]);
        // dx = a dy - c0 - (x - μ) c1 (see the header for the batch_stats formula)
        a[j] = static_cast<Real>(g * r);
        c0[j] = batch_stats ? static_cast<Real>(g * r * sdy[j] / static_cast<double>(N)) : Real(0);
        c1[j] = batch_stats ? static_cast<Real>(g * r * r * r * sdyx[j] / static_cast<double>(N)) : Real(0);
      }
      if (!dx) continue;
      for (int64_t n = 0; n < N; ++n) {
        const Real* xr = x + n * F + j0;
        const Real* gr = dy + n * F + j0;
        Real* dr = dx + n * F + j0;
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) dr[j] = a[j] * gr[j] - c0[j] - (xr[j] - mu[j]) * c1[j];
      }
    }
  });
}

}  // namespace

// (N, C, S > 1): each channel is N contiguous runs of S values; one channel per iteration.
void batchnorm_forward_train(const Real* x, const Real* gamma, const Real* beta, int64_t N, int64_t C, int64_t S,
                             Real eps, Real* y, Real* mean, Real* var, Real* rstd) {
  if (S == 1) return forward_train_rows(x, gamma, beta, N, C, eps, y, mean, var, rstd);
  const double M = static_cast<double>(N * S);
  parallel_for(C, C > 1 && N * C * S > kParallelMin, [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) {
        const Real* xc = x + (n * C + c) * S;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < S; ++i) s += xc[i];
      }
      const Real mu = static_cast<Real>(s / M);
      const double mu_lost = s / M - mu;  // the mean's rounding to Real, put back through the shift
      double q = 0;
      for (int64_t n = 0; n < N; ++n) {
        const Real* xc = x + (n * C + c) * S;
#pragma omp simd reduction(+ : q)
        for (int64_t i = 0; i < S; ++i) {
          const double d = static_cast<double>(xc[i]) - mu;
          q += d * d;
        }
      }
      const double v = q / M, r = 1.0 / std::sqrt(v + eps);
      mean[c] = mu;
      var[c] = static_cast<Real>(v);
      rstd[c] = static_cast<Real>(r);
      const Real a = static_cast<Real>(gamma[c] * r), b = static_cast<Real>(beta[c] - mu_lost * a);
      for (int64_t n = 0; n < N; ++n) {
        const Real* xc = x + (n * C + c) * S;
        Real* yc = y + (n * C + c) * S;
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) yc[i] = (xc[i] - mu) * a + b;
      }
    }
  });
}

void batchnorm_forward_train_naive(const Real* x, const Real* gamma, const Real* beta, int64_t N, int64_t C,
                                   int64_t S, Real eps, Real* y, Real* mean, Real* var, Real* rstd) {
  const double M = static_cast<double>(N * S);
  for (int64_t c = 0; c < C; ++c) {
    double mu = 0, v = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) mu += x[(n * C + c) * S + i];
    mu /= M;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) v += (x[(n * C + c) * S + i] - mu) * (x[(n * C + c) * S + i] - mu);
    v /= M;
    const double r = 1.0 / std::sqrt(v + eps);
    mean[c] = static_cast<Real>(mu);
    var[c] = static_cast<Real>(v);
    rstd[c] = static_cast<Real>(r);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const int64_t k = (n * C + c) * S + i;
        y[k] = static_cast<Real>(gamma[c] * (x[k] - mu) * r + beta[c]);
      }
  }
}

void batchnorm_forward_eval(const Real* x, const Real* gamma, const Real* beta, const Real* running_mean,
                            const Real* running_var, int64_t N, int64_t C, int64_t S, Real eps, Real* y, Real* rstd) {
  for (int64_t c = 0; c < C; ++c) rstd[c] = static_cast<Real>(1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps));
  if (S == 1) {
    parallel_for(N, N * C > kParallelMin, [&](int64_t n_begin, int64_t n_end) {
      for (int64_t n = n_begin; n < n_end; ++n) {
        const Real* xr = x + n * C;
        Real* yr = y + n * C;
#pragma omp simd
        for (int64_t j = 0; j < C; ++j) yr[j] = (xr[j] - running_mean[j]) * (gamma[j] * rstd[j]) + beta[j];
      }
    });
    return;
  }
  parallel_for(N * C, N * C * S > kParallelMin, [&](int64_t nc_begin, int64_t nc_end) {
    for (int64_t nc = nc_begin; nc < nc_end; ++nc) {
      const int64_t c = nc % C;
      const Real* xc = x + nc * S;
      Real* yc = y + nc * S;
      const Real m = running_mean[c], a = gamma[c] * rstd[c], b = beta[c];
#pragma omp simd
      for (int64_t i = 0; i < S; ++i) yc[i] = (xc[i] - m) * a + b;
    }
  });
}

void batchnorm_forward_eval_naive(const Real* x, const Real* gamma, const Real* beta, const Real* running_mean,
                                  const Real* running_var, int64_t N, int64_t C, int64_t S, Real eps, Real* y,
                                  Real* rstd) {
  for (int64_t c = 0; c < C; ++c) {
    const double r = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps);
    rstd[c] = static_cast<Real>(r);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const int64_t k = (n * C + c) * S + i;
        y[k] = static_cast<Real>(gamma[c] * (x[k] - running_mean[c]) * r + beta[c]);
      }
  }
}

void batchnorm_update_running(const Real* mean, const Real* var, int64_t C, int64_t count, Real momentum,
                              Real* running_mean, Real* running_var) {
  const double unbias = static_cast<double>(count) / static_cast<double>(count - 1), m = momentum;
  for (int64_t c = 0; c < C; ++c) {
    running_mean[c] = static_cast<Real>((1 - m) * running_mean[c] + m * mean[c]);
    running_var[c] = static_cast<Real>((1 - m) * running_var[c] + m * var[c] * unbias);
  }
}

// With s1 = Σ dy and s2 = Σ dy (x - μ) (so Σ dy x̂ = r s2), the batch formula expands to
//   dx = γ r dy - γ r s1 / M - (x - μ) γ r³ s2 / M,
// one fused pass after the two sums.
void batchnorm_backward(const Real* x, const Real* dy, const Real* mean, const Real* rstd, const Real* gamma,
                        int64_t N, int64_t C, int64_t S, bool batch_stats, Real* dx, Real* dgamma, Real* dbeta) {
  if (S == 1) return backward_rows(x, dy, mean, rstd, gamma, N, C, batch_stats, dx, dgamma, dbeta);
  const double M = static_cast<double>(N * S);
  parallel_for(C, C > 1 && N * C * S > kParallelMin, [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      const Real mu = mean[c];
      double s1 = 0, s2 = 0;
      for (int64_t n = 0; n < N; ++n) {
        const Real* xc = x + (n * C + c) * S;
        const Real* gc = dy + (n * C + c) * S;
#pragma omp simd reduction(+ : s1, s2)
        for (int64_t i = 0; i < S; ++i) {
          s1 += gc[i];
          s2 += static_cast<double>(gc[i]) * (xc[i] - mu);
        }
      }
      const double r = rstd[c], g = gamma[c];
      dgamma[c] += static_cast<Real>(s2 * r);
      dbeta[c] += static_cast<Real>(s1);
      if (!dx) continue;
      const Real a = static_cast<Real>(g * r);
      const Real c0 = batch_stats ? static_cast<Real>(g * r * s1 / M) : Real(0);
      const Real c1 = batch_stats ? static_cast<Real>(g * r * r * r * s2 / M) : Real(0);
      for (int64_t n = 0; n < N; ++n) {
        const Real* xc = x + (n * C + c) * S;
        const Real* gc = dy + (n * C + c) * S;
        Real* dc = dx + (n * C + c) * S;
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) dc[i] = a * gc[i] - c0 - (xc[i] - mu) * c1;
      }
    }
  });
}

// The formula as written: dx = (γ r / M)(M dy - Σdy - x̂ Σ dy x̂).
void batchnorm_backward_naive(const Real* x, const Real* dy, const Real* mean, const Real* rstd, const Real* gamma,
                              int64_t N, int64_t C, int64_t S, bool batch_stats, Real* dx, Real* dgamma,
                              Real* dbeta) {
  const double M = static_cast<double>(N * S);
  for (int64_t c = 0; c < C; ++c) {
    const double mu = mean[c], r = rstd[c];
    double sdy = 0, sdyxh = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const int64_t k = (n * C + c) * S + i;
        sdy += dy[k];
        sdyxh += dy[k] * (x[k] - mu) * r;
      }
    dgamma[c] += static_cast<Real>(sdyxh);
    dbeta[c] += static_cast<Real>(sdy);
    if (!dx) continue;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const int64_t k = (n * C + c) * S + i;
        const double xh = (x[k] - mu) * r;
        dx[k] = static_cast<Real>(batch_stats ? gamma[c] * r / M * (M * dy[k] - sdy - xh * sdyxh)
                                              : gamma[c] * r * dy[k]);
      }
  }
}

}  // namespace kiln::cpu
