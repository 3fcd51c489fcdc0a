#include "backend/ops_norm.h"

#include <initializer_list>
#include <string>

#include "backend/ops.h"

namespace kiln::ops {

namespace {

struct NCS {
  int64_t N, C, S;
};

// (N, C) -> S = 1; (N, C, H, W) -> S = H·W.
NCS channels(const Tensor& x, const char* what) {
  if (x.rank() != 2 && x.rank() != 4)
    throw Error(std::string(what) + ": expects (N, C) or (N, C, H, W), got " + x.shape().str());
  const int64_t N = x.dim(0), C = x.dim(1);
  return {N, C, N * C == 0 ? 0 : x.numel() / (N * C)};
}

void check_channels(const Tensor& t, int64_t C, const char* what) {
  if (t.numel() != C)
    throw Error(std::string(what) + ": expected " + std::to_string(C) + " values (one per channel), got " +
                t.shape().str());
}

}  // namespace

void batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, Real eps, Tensor& y,
                             Tensor& mean, Tensor& var, Tensor& rstd) {
  Backend& be = backend_for({&x, &gamma, &beta, &y, &mean, &var, &rstd});
  const auto [N, C, S] = channels(x, "batchnorm");
  check_same_shape(x, y, "batchnorm output");
  for (const Tensor* t : std::initializer_list<const Tensor*>{&gamma, &beta, &mean, &var, &rstd}) check_channels(*t, C, "batchnorm statistics");
  be.batchnorm_forward_train(x.data(), gamma.data(), beta.data(), N, C, S, eps, y.data(), mean.data(), var.data(),
                               rstd.data());
}

void batchnorm_forward_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                            const Tensor& running_var, Real eps, Tensor& y, Tensor& rstd) {
  Backend& be = backend_for({&x, &gamma, &beta, &running_mean, &running_var, &y, &rstd});
  const auto [N, C, S] = channels(x, "batchnorm");
  check_same_shape(x, y, "batchnorm output");
  for (const Tensor* t : std::initializer_list<const Tensor*>{&gamma, &beta, &running_mean, &running_var, &rstd})
    check_channels(*t, C, "batchnorm statistics");
  be.batchnorm_forward_eval(x.data(), gamma.data(), beta.data(), running_mean.data(), running_var.data(), N, C, S,
                              eps, y.data(), rstd.data());
}

void batchnorm_update_running(const Tensor& mean, const Tensor& var, int64_t count, Real momentum,
                              Tensor& running_mean, Tensor& running_var) {
  Backend& be = backend_for({&mean, &var, &running_mean, &running_var});
  const int64_t C = mean.numel();
  for (const Tensor* t : std::initializer_list<const Tensor*>{&var, &running_mean, &running_var}) check_channels(*t, C, "batchnorm running statistics");
  KILN_REQUIRE(count > 1, "unbiased variance of " << count << " values");
  be.batchnorm_update_running(mean.data(), var.data(), C, count, momentum, running_mean.data(), running_var.data());
}

void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& mean, const Tensor& rstd,
                        const Tensor& gamma, bool batch_stats, Tensor* dx, Tensor& dgamma, Tensor& dbeta) {
  Backend& be = backend_for({&x, &dy, &mean, &rstd, &gamma, &dgamma, &dbeta});
  const auto [N, C, S] = channels(x, "batchnorm backward");
  check_same_shape(x, dy, "batchnorm backward: dy vs x");
  if (dx) {
    backend_for({&x, dx});
    check_same_shape(x, *dx, "batchnorm backward: dx vs x");
  }
  for (const Tensor* t : std::initializer_list<const Tensor*>{&mean, &rstd, &gamma, &dgamma, &dbeta}) check_channels(*t, C, "batchnorm backward");
  be.batchnorm_backward(x.data(), dy.data(), mean.data(), rstd.data(), gamma.data(), N, C, S, batch_stats,
                          dx ? dx->data() : nullptr, dgamma.data(), dbeta.data());
}

}  // namespace kiln::ops
