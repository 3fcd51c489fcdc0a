// The CPU backend: the kernels of this folder behind the Backend table.
#include <cstdlib>
#include <cstring>
#include <new>

#include "backend/backend.h"
#include "backend/cpu/activation.h"
#include "backend/cpu/algebra.h"
#include "backend/cpu/blas.h"
#include "backend/cpu/conv.h"
#include "backend/cpu/dropout.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/loss.h"
#include "backend/cpu/norm.h"
#include "backend/cpu/optim.h"
#include "backend/cpu/pool.h"
#include "backend/cpu/threads.h"

namespace kiln {

namespace {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::cpu; }
  std::string describe() const override {
    return "cpu: " + std::to_string(cpu::thread_count()) + " threads, " + cpu::blas_description();
  }

  void* allocate(size_t bytes) override {
    // 64-byte alignment: one cache line, one AVX-512 register.
    void* p = std::aligned_alloc(64, (std::max<size_t>(bytes, 1) + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void release(void* p, size_t) override { std::free(p); }
  void copy_from_host(void* dst, const void* src, size_t bytes) override { copy(dst, src, bytes); }
  void copy_to_host(void* dst, const void* src, size_t bytes) override { copy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (dst != src && bytes) std::memcpy(dst, src, bytes);
  }
  void fill(Real* p, Real v, int64_t n) override { std::fill(p, p + n, v); }
  void synchronize() override {}

  void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, Real alpha, const Real* A, int64_t lda, const Real* B,
            int64_t ldb, Real beta, Real* C, int64_t ldc) override {
    cpu::gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  void add_row_bias(Real* y, const Real* b, int64_t N, int64_t F) override { cpu::add_row_bias(y, b, N, F); }
  void accumulate_row_sum(const Real* dy, Real* db, int64_t N, int64_t F) override {
    cpu::accumulate_row_sum(dy, db, N, F);
  }
  void axpy(Real alpha, const Real* x, Real* y, int64_t n) override { cpu::axpy(alpha, x, y, n); }
  void scale(Real* x, Real alpha, int64_t n) override { cpu::scale(x, alpha, n); }
  double sum_squares(const Real* x, int64_t n) override { return cpu::sum_squares(x, n); }

  void activation_forward(const math::Activation& f, const Real* x, Real* y, int64_t n) override {
    cpu::activation_forward(f, x, y, n);
  }
  void activation_backward(const math::Activation& f, const Real* saved, const Real* dy, Real* dx, int64_t n) override {
    cpu::activation_backward(f, saved, dy, dx, n);
  }

  double softmax_xent(const Real* z, const Real* labels, int64_t N, int64_t K, Real smoothing, Real* probs,
                      Real* dz) override {
    return cpu::softmax_xent(z, labels, N, K, smoothing, probs, dz);
  }
  double mse(const Real* y, const Real* t, int64_t N, int64_t F, Real* dy) override { return cpu::mse(y, t, N, F, dy); }

  void conv2d_forward(const Real* x, const Real* w, const Real* b, Real* y, const ConvDims& d, Epilogue e) override {
    cpu::conv2d_forward(x, w, b, y, d, e);
  }
  void conv2d_backward(const Real* x, const Real* w, const Real* y, const Real* dy, Real* dx, Real* dw, Real* db,
                       const ConvDims& d, Epilogue e) override {
    cpu::conv2d_backward(x, w, y, dy, dx, dw, db, d, e);
  }

  void maxpool_forward(const Real* x, Real* y, uint8_t* argmax, const PoolDims& d) override {
    cpu::maxpool_forward(x, y, argmax, d);
  }
  void maxpool_backward(const Real* dy, const uint8_t* argmax, Real* dx, const PoolDims& d) override {
    cpu::maxpool_backward(dy, argmax, dx, d);
  }
  void avgpool_forward(const Real* x, Real* y, const PoolDims& d) override { cpu::avgpool_forward(x, y, d); }
  void avgpool_backward(const Real* dy, Real* dx, const PoolDims& d) override { cpu::avgpool_backward(dy, dx, d); }
  void global_avgpool_forward(const Real* x, Real* y, int64_t planes, int64_t HW) override {
    cpu::global_avgpool_forward(x, y, planes, HW);
  }
  void global_avgpool_backward(const Real* dy, Real* dx, int64_t planes, int64_t HW) override {
    cpu::global_avgpool_backward(dy, dx, planes, HW);
  }

  void batchnorm_forward_train(const Real* x, const Real* gamma, const Real* beta, int64_t N, int64_t C, int64_t S,
                               Real eps, Real* y, Real* mean, Real* var, Real* rstd) override {
    cpu::batchnorm_forward_train(x, gamma, beta, N, C, S, eps, y, mean, var, rstd);
  }
  void batchnorm_forward_eval(const Real* x, const Real* gamma, const Real* beta, const Real* running_mean,
                              const Real* running_var, int64_t N, int64_t C, int64_t S, Real eps, Real* y,
                              Real* rstd) override {
    cpu::batchnorm_forward_eval(x, gamma, beta, running_mean, running_var, N, C, S, eps, y, rstd);
  }
  void batchnorm_update_running(const Real* mean, const Real* var, int64_t C, int64_t count, Real momentum,
                                Real* running_mean, Real* running_var) override {
    cpu::batchnorm_update_running(mean, var, C, count, momentum, running_mean, running_var);
  }
  void batchnorm_backward(const Real* x, const Real* dy, const Real* mean, const Real* rstd, const Real* gamma,
                          int64_t N, int64_t C, int64_t S, bool batch_stats, Real* dx, Real* dgamma,
                          Real* dbeta) override {
    cpu::batchnorm_backward(x, dy, mean, rstd, gamma, N, C, S, batch_stats, dx, dgamma, dbeta);
  }
  void dropout_mask(uint64_t seed, uint64_t stream, int64_t step, Real p, Real* scale, int64_t n,
                    int64_t first) override {
    cpu::dropout_mask(seed, stream, step, p, scale, n, first);
  }
  void dropout_apply(const Real* x, const Real* scale, Real* y, int64_t n) override {
    cpu::dropout_apply(x, scale, y, n);
  }

  void optimizer_update(const math::UpdateRule& rule, Real* theta, const Real* g, const Real* mask, Real* s0, Real* s1,
                        int64_t n) override {
    cpu::optimizer_update(rule, theta, g, mask, s0, s1, n);
  }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend b;
  return b;
}

}  // namespace kiln
