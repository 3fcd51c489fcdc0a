// The CUDA backend: the kernels of this folder (kernels.h) and cuBLAS behind the Backend table.
//
// One GPU, one stream: every kernel, copy and GEMM runs in order on the backend's stream, which
// is what lets the caching allocator (allocator.h) hand a released block out again at once,
// and what a captured graph records. Scratch memory that kernels need (im2col columns, the
// partial sums of reductions, cuBLAS's workspace) is owned here and only grows, so that a
// steady-state training step allocates nothing and a captured graph finds its buffers again.
//
// Convolution is im2col + cuBLAS SGEMM over chunks of samples whose columns fit a workspace
// (conv_plan.h, which tests also run on the host); the bias and ReLU epilogue is one fused pass.
// GEMMs are row-major through cuBLAS's column-major interface by the transpose identity
// C = op(A) op(B)  ⇔  Cᵀ = op(B)ᵀ op(A)ᵀ (conv_plan.h row_major_gemm).
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#include "backend/backend.h"
#include "backend/cuda/allocator.h"
#include "backend/cuda/check.h"
#include "backend/cuda/cublas_library.h"
#include "backend/cuda/conv_plan.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/gemm.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/memory.h"

namespace kiln {

static_assert(std::is_same_v<Real, float>, "the CUDA backend is built into the float library only");

namespace {

using cuda::CachingAllocator;
using cuda::GpuExec;
using cuda::run_gemm;
using cuda::Scratch;
using cuda::Staging;

class CudaGraph final : public Graph {
 public:
  CudaGraph(cudaGraphExec_t exec, cudaStream_t stream, int64_t nodes) : exec_(exec), stream_(stream), nodes_(nodes) {}
  ~CudaGraph() override { (void)cudaGraphExecDestroy(exec_); }
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;
  void replay() override { KILN_CUDA(cudaGraphLaunch(exec_, stream_)); }
  int64_t nodes() const override { return nodes_; }

 private:
  cudaGraphExec_t exec_;
  cudaStream_t stream_;
  int64_t nodes_;
};

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  if (end == v || *end) throw Error(std::string(name) + "='" + v + "': expected an integer");
  return x;
}

class CudaBackend final : public Backend {
 public:
  CudaBackend() {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      std::string why = std::string("no usable NVIDIA GPU: ") + cudaGetErrorString(e);
      if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice) {
        int runtime = 0;
        (void)cudaRuntimeGetVersion(&runtime);
        why += " (this machine has no NVIDIA GPU or driver, or a driver older than the CUDA " +
               std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10) + " runtime kiln was built with)";
      }
      throw Error(why);
    }
    if (count <= 0) throw Error("no usable NVIDIA GPU: no CUDA device found");
    device_ = static_cast<int>(env_int("KILN_CUDA_DEVICE", 0));
    if (device_ < 0 || device_ >= count)
      throw Error("KILN_CUDA_DEVICE=" + std::to_string(device_) + ": there are " + std::to_string(count) + " GPUs");
    e = cudaSetDevice(device_);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      throw Error(std::string("no usable NVIDIA GPU: ") + cudaGetErrorString(e) + " (cudaSetDevice)");
    }
    KILN_CUDA(cudaGetDeviceProperties(&prop_, device_));
    e = cuda::probe_kernel_image();
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      throw Error(std::string("no usable NVIDIA GPU: ") + prop_.name + " (compute capability " +
                  std::to_string(prop_.major) + "." + std::to_string(prop_.minor) + "): " + cudaGetErrorString(e) +
                  "; this build has kernels for CMAKE_CUDA_ARCHITECTURES (90 by default): reconfigure with the GPU's");
    }
    KILN_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    KILN_CUBLAS(cuda::cublas().create(&blas_));
    KILN_CUBLAS(cuda::cublas().set_stream(blas_, stream_));
    // cuBLAS's workspace from the caching allocator, so that GEMMs allocate nothing while a
    // graph is captured (32 MiB, NVIDIA's advice for Hopper).
    constexpr size_t kBlasWorkspace = size_t{32} << 20;
    KILN_CUBLAS(cuda::cublas().set_workspace(blas_, alloc_.allocate(kBlasWorkspace), kBlasWorkspace));
    // TF32 by default, as PyTorch does for convolutions; KILN_CUDA_TF32=0 asks for exact fp32.
    set_tf32(cuda::env_flag("KILN_CUDA_TF32", true));
    const int64_t default_ws = std::min<int64_t>(int64_t{1} << 30, static_cast<int64_t>(prop_.totalGlobalMem / 16));
    conv_budget_ = env_int("KILN_CUDA_CONV_WORKSPACE_MB", default_ws >> 20) << 20;
    // Device scalars: the dropout step and the loss.
    d_step_ = static_cast<int64_t*>(alloc_.allocate(sizeof(int64_t)));
    d_loss_ = static_cast<double*>(alloc_.allocate(sizeof(double)));
    void* pinned = nullptr;
    KILN_CUDA(cudaMallocHost(&pinned, sizeof(double)));
    h_loss_ = static_cast<double*>(pinned);
    cuda::set_i64(d_step_, 0, stream_);
    KILN_CUDA(cudaStreamSynchronize(stream_));
  }

  Device device() const override { return Device::cuda; }
  std::string describe() const override {
    int runtime = 0, driver = 0, blas = 0;
    (void)cudaRuntimeGetVersion(&runtime);
    (void)cudaDriverGetVersion(&driver);
    (void)cuda::cublas().get_version(blas_, &blas);
    auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
    const cuda::MemoryStats m = alloc_.stats();
    char b[512];
    std::snprintf(b, sizeof b,
                  "cuda: %s (compute %d.%d, %d SMs, %s), CUDA runtime %s, driver %s, cuBLAS %d, %s GEMMs; "
                  "peak %s in tensors, %s reserved",
                  prop_.name, prop_.major, prop_.minor, prop_.multiProcessorCount,
                  cuda::format_bytes(static_cast<int64_t>(prop_.totalGlobalMem)).c_str(), ver(runtime).c_str(),
                  ver(driver).c_str(), blas, tf32_ ? "TF32" : "fp32", cuda::format_bytes(m.peak_in_use).c_str(),
                  cuda::format_bytes(m.peak_reserved).c_str());
    return b;
  }

  // ---- memory ----
  void* allocate(size_t bytes) override { return alloc_.allocate(bytes); }
  void release(void* p, size_t) override { alloc_.release(p); }
  void copy_from_host(void* dst, const void* src, size_t bytes) override {
    if (!bytes) return;
    no_capture("a copy from host memory");
    if (bytes <= Staging::kMaxBytes) {
      staging_.upload(dst, src, bytes, stream_);
    } else {  // large (weights, whole datasets): straight from pageable memory, then wait
      KILN_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
      KILN_CUDA(cudaStreamSynchronize(stream_));
    }
  }
  void copy_to_host(void* dst, const void* src, size_t bytes) override {
    if (!bytes) return;
    no_capture("a copy to host memory");
    KILN_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    KILN_CUDA(cudaStreamSynchronize(stream_));
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (dst == src || !bytes) return;
    KILN_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
  }
  void fill(Real* p, Real value, int64_t n) override { cuda::fill(p, value, n, stream_); }
  void synchronize() override {
    no_capture("synchronize()");
    KILN_CUDA(cudaStreamSynchronize(stream_));
  }

  // ---- dense algebra ----
  void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, Real alpha, const Real* A, int64_t lda, const Real* B,
            int64_t ldb, Real beta, Real* C, int64_t ldc) override {
    run_gemm(blas_, stream_, cuda::row_major_gemm(ta, tb, M, N, K, A, lda, B, ldb, C, ldc), alpha, beta);
  }
  void add_row_bias(Real* y, const Real* b, int64_t N, int64_t F) override { cuda::add_row_bias(y, b, N, F, stream_); }
  void accumulate_row_sum(const Real* dy, Real* db, int64_t N, int64_t F) override {
    cuda::accumulate_row_sum(dy, db, N, F, stream_);
  }
  void axpy(Real alpha, const Real* x, Real* y, int64_t n) override { cuda::axpy(alpha, x, y, n, stream_); }
  void scale(Real* x, Real alpha, int64_t n) override { cuda::scale(x, alpha, n, stream_); }
  double sum_squares(const Real* x, int64_t n) override {
    no_capture("sum_squares (it returns the sum to the host)");
    cuda::sum_squares(x, n, scratch_.get(alloc_, cuda::kMseWorkDoubles), d_loss_, stream_);
    return read_loss();
  }

  // ---- activations ----
  void activation_forward(const math::Activation& f, const Real* x, Real* y, int64_t n) override {
    cuda::activation_forward(f, x, y, n, stream_);
  }
  void activation_backward(const math::Activation& f, const Real* saved, const Real* dy, Real* dx, int64_t n) override {
    cuda::activation_backward(f, saved, dy, dx, n, stream_);
  }

  // ---- losses: reduced on the device; reading the mean synchronises ----
  double softmax_xent(const Real* z, const Real* labels, int64_t N, int64_t K, Real smoothing, Real* probs,
                      Real* dz) override {
    no_capture("softmax_xent (it returns the loss to the host)");
    cuda::softmax_xent(z, labels, N, K, smoothing, probs, dz, scratch_.get(alloc_, std::max<int64_t>(N, 1)), d_loss_,
                       stream_);
    return read_loss();
  }
  double mse(const Real* y, const Real* t, int64_t N, int64_t F, Real* dy) override {
    no_capture("mse (it returns the loss to the host)");
    cuda::mse(y, t, N, F, dy, scratch_.get(alloc_, cuda::kMseWorkDoubles), d_loss_, stream_);
    return read_loss();
  }

  // ---- convolution ----
  void conv2d_forward(const Real* x, const Real* w, const Real* b, Real* y, const ConvDims& d,
                      Epilogue epilogue) override {
    const int64_t need = cuda::conv_forward_workspace(d, conv_budget_);
    Real* ws = need > 0 ? conv_ws_.get(alloc_, need) : nullptr;
    GpuExec ex{stream_, blas_};
    cuda::conv_forward_plan(ex, x, w, b, y, d, epilogue == Epilogue::relu, ws, conv_budget_);
  }
  void conv2d_backward(const Real* x, const Real* w, const Real* y, const Real* dy, Real* dx, Real* dw, Real* db,
                       const ConvDims& d, Epilogue epilogue) override {
    Real* ws = conv_ws_.get(alloc_, std::max<int64_t>(cuda::conv_backward_workspace(d, conv_budget_), 1));
    GpuExec ex{stream_, blas_};
    cuda::conv_backward_plan(ex, x, w, y, dy, dx, dw, db, d, epilogue == Epilogue::relu, ws, conv_budget_);
  }

  // ---- pooling ----
  void maxpool_forward(const Real* x, Real* y, uint8_t* argmax, const PoolDims& d) override {
    cuda::maxpool_forward(x, y, argmax, d, stream_);
  }
  void maxpool_backward(const Real* dy, const uint8_t* argmax, Real* dx, const PoolDims& d) override {
    cuda::maxpool_backward(dy, argmax, dx, d, stream_);
  }
  void avgpool_forward(const Real* x, Real* y, const PoolDims& d) override { cuda::avgpool_forward(x, y, d, stream_); }
  void avgpool_backward(const Real* dy, Real* dx, const PoolDims& d) override {
    cuda::avgpool_backward(dy, dx, d, stream_);
  }
  void global_avgpool_forward(const Real* x, Real* y, int64_t planes, int64_t HW) override {
    cuda::global_avgpool_forward(x, y, planes, HW, stream_);
  }
  void global_avgpool_backward(const Real* dy, Real* dx, int64_t planes, int64_t HW) override {
    cuda::global_avgpool_backward(dy, dx, planes, HW, stream_);
  }

  // ---- batch norm and dropout ----
  void batchnorm_forward_train(const Real* x, const Real* gamma, const Real* beta, int64_t N, int64_t C, int64_t S,
                               Real eps, Real* y, Real* mean, Real* var, Real* rstd) override {
    double* work = scratch_.get(alloc_, cuda::batchnorm_work_doubles(N, C, S));
    cuda::batchnorm_forward_train(x, gamma, beta, N, C, S, eps, y, mean, var, rstd, work, stream_);
  }
  void batchnorm_forward_eval(const Real* x, const Real* gamma, const Real* beta, const Real* running_mean,
                              const Real* running_var, int64_t N, int64_t C, int64_t S, Real eps, Real* y,
                              Real* rstd) override {
    cuda::batchnorm_forward_eval(x, gamma, beta, running_mean, running_var, N, C, S, eps, y, rstd, stream_);
  }
  void batchnorm_update_running(const Real* mean, const Real* var, int64_t C, int64_t count, Real momentum,
                                Real* running_mean, Real* running_var) override {
    cuda::batchnorm_update_running(mean, var, C, count, momentum, running_mean, running_var, stream_);
  }
  void batchnorm_backward(const Real* x, const Real* dy, const Real* mean, const Real* rstd, const Real* gamma,
                          int64_t N, int64_t C, int64_t S, bool batch_stats, Real* dx, Real* dgamma,
                          Real* dbeta) override {
    double* work = scratch_.get(alloc_, cuda::batchnorm_work_doubles(N, C, S));
    cuda::batchnorm_backward(x, dy, mean, rstd, gamma, N, C, S, batch_stats, dx, dgamma, dbeta, work, stream_);
  }
  void dropout_mask(uint64_t seed, uint64_t stream, int64_t step, Real p, Real* scale, int64_t n,
                    int64_t first) override {
    cuda::dropout_mask(seed, stream, d_step_, step - h_step_, p, scale, n, first, stream_);
  }
  void dropout_apply(const Real* x, const Real* scale, Real* y, int64_t n) override {
    cuda::dropout_apply(x, scale, y, n, stream_);
  }

  // ---- optimizers ----
  void optimizer_update(const math::UpdateRule& rule, Real* theta, const Real* g, const Real* mask, Real* s0, Real* s1,
                        int64_t n) override {
    cuda::optimizer_update(rule, theta, g, mask, s0, s1, n, stream_);
  }

  // ---- graphs ----
  bool can_capture() const override { return true; }
  void begin_capture() override {
    KILN_CHECK(!capturing_, "begin_capture while capturing");
    (void)cudaGetLastError();
    alloc_.set_capturing(true);
    capturing_ = true;
    const cudaError_t e = cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal);
    if (e != cudaSuccess) {
      capturing_ = false;
      alloc_.set_capturing(false);
      cuda::throw_cuda_error(e, "cudaStreamBeginCapture", __FILE__, __LINE__);
    }
  }
  std::unique_ptr<Graph> end_capture() override {
    KILN_CHECK(capturing_, "end_capture without begin_capture");
    cudaGraph_t graph = nullptr;
    cudaError_t e = cudaStreamEndCapture(stream_, &graph);
    capturing_ = false;
    alloc_.set_capturing(false);
    if (e != cudaSuccess) {
      if (graph) (void)cudaGraphDestroy(graph);
      (void)cudaGetLastError();
      cuda::throw_cuda_error(e, "cudaStreamEndCapture", __FILE__, __LINE__);
    }
    size_t nodes = 0;
    if (cudaGraphGetNodes(graph, nullptr, &nodes) != cudaSuccess) {
      (void)cudaGetLastError();
      nodes = 0;
    }
    cudaGraphExec_t exec = nullptr;
    e = cudaGraphInstantiate(&exec, graph, 0);
    (void)cudaGraphDestroy(graph);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      cuda::throw_cuda_error(e, "cudaGraphInstantiate", __FILE__, __LINE__);
    }
    return std::make_unique<CudaGraph>(exec, stream_, static_cast<int64_t>(nodes));
  }
  void abort_capture() override {
    if (!capturing_) return;
    cudaGraph_t graph = nullptr;
    (void)cudaStreamEndCapture(stream_, &graph);
    if (graph) (void)cudaGraphDestroy(graph);
    (void)cudaGetLastError();
    capturing_ = false;
    alloc_.set_capturing(false);
  }
  uint64_t memory_generation() const override { return alloc_.generation(); }
  void set_step(int64_t step) override {
    no_capture("set_step");
    cuda::set_i64(d_step_, step, stream_);
    h_step_ = step;
  }

  // ---- cuda_backend.h ----
  cuda::MemoryStats memory_stats() const { return alloc_.stats(); }
  void reset_peak() { alloc_.reset_peak(); }
  void empty_cache() {
    no_capture("empty_cache");
    KILN_CUDA(cudaStreamSynchronize(stream_));
    alloc_.empty_cache();
  }
  bool set_tf32(bool on) override {
    KILN_CUBLAS(cuda::cublas().set_math_mode(blas_, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    std::swap(tf32_, on);
    return on;
  }
  int64_t set_conv_budget(int64_t bytes) {
    std::swap(conv_budget_, bytes);
    return bytes;
  }

 private:
  void no_capture(const char* what) const {
    if (capturing_) throw Error(std::string(what) + " cannot be recorded into a CUDA graph");
  }

  double read_loss() {
    KILN_CUDA(cudaMemcpyAsync(h_loss_, d_loss_, sizeof(double), cudaMemcpyDeviceToHost, stream_));
    KILN_CUDA(cudaStreamSynchronize(stream_));
    return *h_loss_;
  }

  int device_ = 0;
  cudaDeviceProp prop_{};
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  mutable CachingAllocator alloc_;
  Scratch<double> scratch_;  // reduction partials (losses, batch norm)
  Scratch<float> conv_ws_;   // im2col columns and the reordered output gradient
  Staging staging_;
  int64_t conv_budget_ = int64_t{256} << 20;
  bool tf32_ = false;
  bool capturing_ = false;
  int64_t* d_step_ = nullptr;  // device: the step set by set_step()
  int64_t h_step_ = 0;         // host: the same value, as of the last set_step() call
  double* d_loss_ = nullptr;
  double* h_loss_ = nullptr;   // pinned
};

// The backend, created on first use and never destroyed (tensors may be released during
// static destruction, after any destructor of it would have run). Creation fails once, with
// the reason kept for every later call.
struct Instance {
  CudaBackend* backend = nullptr;
  std::string error;
};

Instance& instance() {
  static Instance inst = [] {
    Instance i;
    try {
      i.backend = new CudaBackend();
    } catch (const std::exception& e) {
      i.error = e.what();
    }
    return i;
  }();
  return inst;
}

CudaBackend& the_backend() {
  Instance& i = instance();
  if (!i.backend) throw Error(i.error);
  return *i.backend;
}

}  // namespace

Backend* cuda_backend() { return &the_backend(); }
bool cuda_backend_built() { return true; }
int cuda_devices_reported() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

namespace cuda {

MemoryStats memory_stats() { return the_backend().memory_stats(); }
void reset_peak_memory() { the_backend().reset_peak(); }
void empty_cache() { the_backend().empty_cache(); }
bool set_tf32(bool enabled) { return the_backend().set_tf32(enabled); }
int64_t set_conv_workspace_bytes(int64_t bytes) { return the_backend().set_conv_budget(bytes); }

}  // namespace cuda

}  // namespace kiln
