#pragma once
// Tensor-level batch-norm ops (the dispatch pattern of ops.h; kernels and their
// math in cpu/norm.h). Batch-norm tensors x, y, dy, dx are (N, C) or (N, C, H, W); the
// per-channel ones (gamma, beta, mean, var, rstd, running statistics) have C elements.
#include <cstdint>

#include "tensor/tensor.h"

namespace kiln::ops {

// Batch statistics: writes y, mean, var (biased) and rstd = 1/sqrt(var + eps).
void batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, Real eps, Tensor& y,
                             Tensor& mean, Tensor& var, Tensor& rstd);
// Running statistics: writes y and rstd = 1/sqrt(running_var + eps).
void batchnorm_forward_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                            const Tensor& running_var, Real eps, Tensor& y, Tensor& rstd);
// running = (1 - momentum) running + momentum batch, unbiased variance var·count/(count-1).
void batchnorm_update_running(const Tensor& mean, const Tensor& var, int64_t count, Real momentum,
                              Tensor& running_mean, Tensor& running_var);
// Accumulates dgamma, dbeta; overwrites *dx when non-null. batch_stats: mean/rstd were the
// batch's own (training), so dx carries the terms through μ and σ.
void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& mean, const Tensor& rstd,
                        const Tensor& gamma, bool batch_stats, Tensor* dx, Tensor& dgamma, Tensor& dbeta);

}  // namespace kiln::ops
