#pragma once
// Batch normalisation on raw buffers.
//
// Batch-norm shapes: x, y, dy, dx are (N, C, S) with S = H·W for an (N, C, H, W) input and
// S = 1 for (N, F) (then C = F); gamma, beta, mean, var, rstd and the running statistics are
// (C). Each channel's statistics are over its M = N·S values. The fast kernels sum in double,
// two passes (mean, then squared deviations), so no cancellation in float; the *_naive versions
// are the plain loops they are tested against.
#include <cstdint>

#include "tensor/tensor.h"

namespace kiln::cpu {

// Training forward: batch mean μ and biased variance σ² per channel, rstd = 1/sqrt(σ² + eps),
// y = gamma (x - μ) rstd + beta. Writes mean, var (biased) and rstd.
void batchnorm_forward_train(const Real* x, const Real* gamma, const Real* beta, int64_t N, int64_t C, int64_t S,
                             Real eps, Real* y, Real* mean, Real* var, Real* rstd);
void batchnorm_forward_train_naive(const Real* x, const Real* gamma, const Real* beta, int64_t N, int64_t C,
                                   int64_t S, Real eps, Real* y, Real* mean, Real* var, Real* rstd);

// Eval forward with the running statistics: rstd = 1/sqrt(running_var + eps) (written, for
// backward), y = gamma (x - running_mean) rstd + beta.
void batchnorm_forward_eval(const Real* x, const Real* gamma, const Real* beta, const Real* running_mean,
                            const Real* running_var, int64_t N, int64_t C, int64_t S, Real eps, Real* y, Real* rstd);
void batchnorm_forward_eval_naive(const Real* x, const Real* gamma, const Real* beta, const Real* running_mean,
                                  const Real* running_var, int64_t N, int64_t C, int64_t S, Real eps, Real* y,
                                  Real* rstd);

// PyTorch's update, with the unbiased variance σ²·M/(M-1) (M = count > 1):
//   running_mean = (1 - momentum) running_mean + momentum μ
//   running_var  = (1 - momentum) running_var  + momentum σ² M/(M-1)
void batchnorm_update_running(const Real* mean, const Real* var, int64_t C, int64_t count, Real momentum,
                              Real* running_mean, Real* running_var);

// Backward with x̂ = (x - mean) rstd recomputed from x. Always ACCUMULATES
//   dgamma += Σ dy x̂,   dbeta += Σ dy.
// dx (overwritten; may be null):
//   batch_stats (training, mean/rstd are functions of x): dx = (gamma rstd / M)(M dy - Σdy - x̂ Σ dy x̂)
//   otherwise (eval, mean/rstd are constants):           dx = gamma rstd dy
void batchnorm_backward(const Real* x, const Real* dy, const Real* mean, const Real* rstd, const Real* gamma,
                        int64_t N, int64_t C, int64_t S, bool batch_stats, Real* dx, Real* dgamma, Real* dbeta);
void batchnorm_backward_naive(const Real* x, const Real* dy, const Real* mean, const Real* rstd, const Real* gamma,
                              int64_t N, int64_t C, int64_t S, bool batch_stats, Real* dx, Real* dgamma,
                              Real* dbeta);

}  // namespace kiln::cpu
