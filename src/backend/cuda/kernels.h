#pragma once
// The CUDA kernels of the backend, as host functions that launch them on a stream: plain
// functions over raw device buffers (shapes in the comments), the same contracts as the CPU
// kernels of backend/cpu/*.h, which are their references (tests/backend_ops_test.cpp compares
// every one of them with the CPU backend). Each returns once its kernels are enqueued; each
// checks its launches (check.h). Sizes are int64_t; element counts of zero launch nothing.
//
// Scratch memory (`work`) is the caller's: the backend owns it, so that a captured graph
// finds the same buffers at replay. The *_work_* functions give the sizes.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "backend/dims.h"
#include "backend/math/activations.h"
#include "backend/math/update_rules.h"

namespace kiln::cuda {

// ---- elementwise.cu ----
void fill(float* p, float value, int64_t n, cudaStream_t s);                           // p[i] = value
void scale(float* p, float beta, int64_t n, cudaStream_t s);                           // p *= β (β = 0: p = 0)
void axpy(float alpha, const float* x, float* y, int64_t n, cudaStream_t s);           // y += αx
void add_row_bias(float* y, const float* b, int64_t N, int64_t F, cudaStream_t s);      // y (N,F) += b (F)
void accumulate_row_sum(const float* dy, float* db, int64_t N, int64_t F, cudaStream_t s);  // db (F) += Σ_n dy (N,F)
// y = f(x); dx = dy ⊙ f'(saved), saved the input or the output as f.from_output says
// (math/activations.h). dx may alias dy.
void activation_forward(const math::Activation& f, const float* x, float* y, int64_t n, cudaStream_t s);
void activation_backward(const math::Activation& f, const float* saved, const float* dy, float* dx, int64_t n,
                         cudaStream_t s);
// *p = v, in stream order (for the device-side step of captured graphs).
void set_i64(int64_t* p, int64_t v, cudaStream_t s);
// scale (n) = [u_i >= p] / (1 - p), u_i = hash_uniform(seed, stream, (step << 32) ^ i) with
// step = *device_step + step_delta (read when the kernel runs: see CudaBackend::set_step).
void dropout_mask(uint64_t seed, uint64_t stream, const int64_t* device_step, int64_t step_delta, float p,
                  float* scale, int64_t n, int64_t first, cudaStream_t s);
void dropout_apply(const float* x, const float* scale, float* y, int64_t n, cudaStream_t s);  // y = x ⊙ scale

// ---- loss.cu: write the mean loss to *loss (device); the caller copies it out ----
// row_loss: N doubles of scratch.
void softmax_xent(const float* z, const float* labels, int64_t N, int64_t K, float smoothing, float* probs, float* dz,
                  double* row_loss, double* loss, cudaStream_t s);
constexpr int64_t kMseWorkDoubles = 1024;  // per-block partial sums (also sum_squares')
void mse(const float* y, const float* t, int64_t N, int64_t F, float* dy, double* work, double* loss, cudaStream_t s);
// *out = Σ x² in double (kMseWorkDoubles of work), a fixed order of additions.
void sum_squares(const float* x, int64_t n, double* work, double* out, cudaStream_t s);

// ---- conv.cu: the pieces of im2col + GEMM convolution (the GEMMs are cuBLAS calls) ----
// cols[n*stride_n + row*stride_row + p*Q + q] = x[n, c, p*stride - pad + r, q*stride - pad + s]
// (0 in the padding), row = (c*R + r)*S + s, for the d.N samples of x (N, C, H, W):
//   per-sample layout (N, CRS, PQ): stride_n = CRS*PQ, stride_row = PQ
//   matrix layout     (CRS, N*PQ): stride_n = PQ,     stride_row = N*PQ
void im2col(const float* x, float* cols, const ConvDims& d, int64_t stride_n, int64_t stride_row, cudaStream_t s);
// dx (N, C, H, W) = the adjoint of im2col (matrix layout) applied to dcols (CRS, N*PQ): each
// pixel GATHERS the columns that read it (no atomics, deterministic); overwrites dx.
void col2im(const float* dcols, float* dx, const ConvDims& d, cudaStream_t s);
// y (N, K, PQ) = epilogue(y + b[k]) in place; b may be null.
void bias_epilogue(float* y, const float* b, int64_t N, int64_t K, int64_t PQ, bool relu, cudaStream_t s);
// dymat (K, N*PQ) = dy (N, K, PQ) reordered, times [y > 0] when y is non-null (the ReLU epilogue).
void nchw_to_rows(const float* dy, const float* y, float* dymat, int64_t N, int64_t K, int64_t PQ, cudaStream_t s);
// out[r] += Σ_j m[r, j] for m (rows, cols), summed in double (the conv bias gradient).
void accumulate_rows(const float* m, float* out, int64_t rows, int64_t cols, cudaStream_t s);

// ---- pool.cu (cpu/pool.h) ----
void maxpool_forward(const float* x, float* y, uint8_t* argmax, const PoolDims& d, cudaStream_t s);
void maxpool_backward(const float* dy, const uint8_t* argmax, float* dx, const PoolDims& d, cudaStream_t s);
void avgpool_forward(const float* x, float* y, const PoolDims& d, cudaStream_t s);
void avgpool_backward(const float* dy, float* dx, const PoolDims& d, cudaStream_t s);
void global_avgpool_forward(const float* x, float* y, int64_t planes, int64_t HW, cudaStream_t s);
void global_avgpool_backward(const float* dy, float* dx, int64_t planes, int64_t HW, cudaStream_t s);

// ---- norm.cu (cpu/norm.h), x (N, C, S) ----
// Scratch doubles for batchnorm_forward_train and batchnorm_backward.
int64_t batchnorm_work_doubles(int64_t N, int64_t C, int64_t S);
void batchnorm_forward_train(const float* x, const float* gamma, const float* beta, int64_t N, int64_t C, int64_t S,
                             float eps, float* y, float* mean, float* var, float* rstd, double* work, cudaStream_t s);
void batchnorm_forward_eval(const float* x, const float* gamma, const float* beta, const float* running_mean,
                            const float* running_var, int64_t N, int64_t C, int64_t S, float eps, float* y,
                            float* rstd, cudaStream_t s);
void batchnorm_update_running(const float* mean, const float* var, int64_t C, int64_t count, float momentum,
                              float* running_mean, float* running_var, cudaStream_t s);
void batchnorm_backward(const float* x, const float* dy, const float* mean, const float* rstd, const float* gamma,
                        int64_t N, int64_t C, int64_t S, bool batch_stats, float* dx, float* dgamma, float* dbeta,
                        double* work, cudaStream_t s);

// ---- optim.cu (cpu/optim.h): one kernel over the whole flat parameter buffer ----
void optimizer_update(const math::UpdateRule& rule, float* theta, const float* g, const float* mask, float* s0,
                      float* s1, int64_t n, cudaStream_t s);

// Whether this binary has kernels the current device can run (cudaSuccess), else why not.
cudaError_t probe_kernel_image();

}  // namespace kiln::cuda
