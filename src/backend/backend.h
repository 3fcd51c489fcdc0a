#pragma once
// A backend: the memory and the kernels of one device, as one table (STYLE.md #5, ggml's
// backend interface). kiln::ops picks the backend from its tensors' device and calls the
// kernel here. Layers, the model, the optimizers and the trainer never see a backend: they
// reach kernels through kiln::ops, the device and thread settings through backend/runtime.h,
// and graph capture through backend/recorder.h.
//
// Every kernel works on raw device pointers with explicit sizes, as the plain functions of
// backend/cpu/ do (each documented there, with its math and its naive reference). Kernels are
// asynchronous on devices that can be (CUDA): results are visible to the host after a copy to
// host or synchronize(). Kernels that return a value to the host (the losses) synchronize.
//
// The CPU backend is always built. The CUDA backend is built when CMake finds nvcc; otherwise
// cuda_backend() returns null and asking for Device::cuda is an error naming the build.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backend/dims.h"
#include "backend/math/activations.h"
#include "backend/math/update_rules.h"
#include "tensor/tensor.h"

namespace kiln {

// A recorded sequence of kernels (a CUDA graph) that replay() runs again on the same buffers.
class Graph {
 public:
  virtual ~Graph() = default;
  virtual void replay() = 0;
  virtual int64_t nodes() const { return 0; }  // the kernels, copies and sets it holds (0: not known)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual std::string describe() const = 0;  // "cpu: 2 threads, OpenBLAS 0.3.21 (SkylakeX)"

  // ---- memory (bytes) ----
  virtual void* allocate(size_t bytes) = 0;  // aligned to 64 bytes; contents undefined
  virtual void release(void* p, size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;  // both on this device
  virtual void fill(Real* p, Real value, int64_t n) = 0;
  virtual void synchronize() = 0;

  // ---- dense algebra (row-major; see cpu/gemm.h) ----
  virtual void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, Real alpha, const Real* A,
                    int64_t lda, const Real* B, int64_t ldb, Real beta, Real* C, int64_t ldc) = 0;
  virtual void add_row_bias(Real* y, const Real* b, int64_t N, int64_t F) = 0;         // y[n,j] += b[j]
  virtual void accumulate_row_sum(const Real* dy, Real* db, int64_t N, int64_t F) = 0;  // db[j] += Σ_n dy[n,j]
  virtual void axpy(Real alpha, const Real* x, Real* y, int64_t n) = 0;                // y += αx
  virtual void scale(Real* x, Real alpha, int64_t n) = 0;                             // x *= α
  // Σ x², summed in double; returns to the host (synchronises). Gradient norms and clipping.
  virtual double sum_squares(const Real* x, int64_t n) = 0;

  // ---- activations (cpu/activation.h; the bodies in math/activations.h) ----
  virtual void activation_forward(const math::Activation& f, const Real* x, Real* y, int64_t n) = 0;
  // saved: the input or the output, as f.from_output says.
  virtual void activation_backward(const math::Activation& f, const Real* saved, const Real* dy, Real* dx,
                                   int64_t n) = 0;

  // ---- losses (cpu/loss.h); labels hold class indices as Real; return the mean loss ----
  virtual double softmax_xent(const Real* z, const Real* labels, int64_t N, int64_t K, Real smoothing, Real* probs,
                              Real* dz) = 0;
  virtual double mse(const Real* y, const Real* t, int64_t N, int64_t F, Real* dy) = 0;

  // ---- convolution (cpu/conv.h) ----
  // y = epilogue(conv(x, w) + b); b may be null.
  virtual void conv2d_forward(const Real* x, const Real* w, const Real* b, Real* y, const ConvDims& d,
                              Epilogue epilogue) = 0;
  // Given dy = dL/d(stored y): with Epilogue::relu, dy is first masked by y > 0. Overwrites dx
  // (skipped when null); ACCUMULATES dw and db (db skipped when null).
  virtual void conv2d_backward(const Real* x, const Real* w, const Real* y, const Real* dy, Real* dx, Real* dw,
                               Real* db, const ConvDims& d, Epilogue epilogue) = 0;

  // ---- pooling (cpu/pool.h); argmax: one byte per output, the window offset r·k + s ----
  virtual void maxpool_forward(const Real* x, Real* y, uint8_t* argmax, const PoolDims& d) = 0;
  virtual void maxpool_backward(const Real* dy, const uint8_t* argmax, Real* dx, const PoolDims& d) = 0;
  virtual void avgpool_forward(const Real* x, Real* y, const PoolDims& d) = 0;
  virtual void avgpool_backward(const Real* dy, Real* dx, const PoolDims& d) = 0;
  virtual void global_avgpool_forward(const Real* x, Real* y, int64_t planes, int64_t HW) = 0;
  virtual void global_avgpool_backward(const Real* dy, Real* dx, int64_t planes, int64_t HW) = 0;

  // ---- batch norm and dropout (cpu/norm.h) ----
  virtual void batchnorm_forward_train(const Real* x, const Real* gamma, const Real* beta, int64_t N, int64_t C,
                                       int64_t S, Real eps, Real* y, Real* mean, Real* var, Real* rstd) = 0;
  virtual void batchnorm_forward_eval(const Real* x, const Real* gamma, const Real* beta, const Real* running_mean,
                                      const Real* running_var, int64_t N, int64_t C, int64_t S, Real eps, Real* y,
                                      Real* rstd) = 0;
  virtual void batchnorm_update_running(const Real* mean, const Real* var, int64_t C, int64_t count, Real momentum,
                                        Real* running_mean, Real* running_var) = 0;
  virtual void batchnorm_backward(const Real* x, const Real* dy, const Real* mean, const Real* rstd,
                                  const Real* gamma, int64_t N, int64_t C, int64_t S, bool batch_stats, Real* dx,
                                  Real* dgamma, Real* dbeta) = 0;
  // scale[0] is element `first` of the mask (cpu/dropout.h).
  virtual void dropout_mask(uint64_t seed, uint64_t stream, int64_t step, Real p, Real* scale, int64_t n,
                            int64_t first) = 0;
  virtual void dropout_apply(const Real* x, const Real* scale, Real* y, int64_t n) = 0;

  // ---- optimizers (cpu/optim.h): one step of `rule` over n parameters, moments s0, s1 ----
  virtual void optimizer_update(const math::UpdateRule& rule, Real* theta, const Real* g, const Real* mask, Real* s0,
                                Real* s1, int64_t n) = 0;

  // ---- precision ----
  // Whether fp32 GEMMs (and the convolutions built on them) may use TF32 tensor cores (inputs
  // rounded to a 10-bit mantissa, fp32 accumulation); returns the previous setting. Backends
  // without them (the CPU) stay exact fp32 and return false.
  virtual bool set_tf32(bool /*enabled*/) { return false; }

  // ---- graph capture (through recorder.h); backends that cannot capture keep these defaults ----
  // Between begin_capture() and end_capture() kernels are recorded, not run; end_capture()
  // returns the recording, which replay() then runs with the same pointers and arguments.
  // While capturing, the backend throws kiln::Error rather than allocate memory, copy to or
  // from the host or synchronise (a loss, say); the caller then calls abort_capture() and runs
  // the work eagerly. A graph may be replayed only while memory_generation() is what it was at
  // its capture (no buffer allocated or released since, so every baked-in pointer is valid).
  virtual bool can_capture() const { return false; }
  virtual void begin_capture() { throw Error(describe() + ": no graph capture"); }
  virtual std::unique_ptr<Graph> end_capture() { return nullptr; }
  virtual void abort_capture() {}
  virtual uint64_t memory_generation() const { return 0; }
  // The training step that dropout masks are drawn for, kept in device memory: dropout_mask
  // draws for step = (the step set here when the kernel runs) + (its `step` argument - the step
  // set here when it was called), so a replayed graph draws the masks of the step set before
  // the replay, and eager calls draw for their own argument as always.
  virtual void set_step(int64_t /*step*/) {}
};

// The backend of a device; throws kiln::Error when this build has none for it.
Backend& backend(Device device);
// Whether `device` can be used here (built in, and for CUDA a GPU is present).
bool device_available(Device device);
// Whether this build has the CUDA backend at all.
bool cuda_backend_built();
// How many GPUs the CUDA driver reports (cudaGetDeviceCount), without starting the backend: 0
// where the driver reports none or fails, or the build has no CUDA backend. A GPU counted here
// that device_available() cannot use is a broken setup, not a machine without a GPU.
int cuda_devices_reported();

// Defined by the CPU backend and by the CUDA backend (or, in builds without CUDA, by
// backend/no_cuda.cpp). cuda_backend() returns null when there is no backend, and throws
// kiln::Error (saying why) when the backend is built but no GPU can be used.
Backend& cpu_backend();
Backend* cuda_backend();

}  // namespace kiln
