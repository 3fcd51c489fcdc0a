// The CUDA backend's error reports (check.h): the call or kernel, the runtime's message.
#include <cstdlib>
#include <cstring>
#include <string>

#include "backend/cuda/check.h"

namespace kiln::cuda {

bool env_flag(const char* name, bool unset) {
  const char* v = std::getenv(name);
  if (!v || !*v) return unset;
  return std::strcmp(v, "0") != 0;
}

namespace {

bool sync_after_launch() {
  static const bool on = env_flag("KILN_CUDA_SYNC");
  return on;
}

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "unknown cuBLAS status";
  }
}

}  // namespace

void throw_cuda_error(cudaError_t e, const char* call, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  throw Error(std::string("CUDA error in ") + call + ": " + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) +
              ") at " + (base ? base + 1 : file) + ":" + std::to_string(line));
}

void throw_cublas_error(cublasStatus_t s, const char* call, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  throw Error(std::string("cuBLAS error in ") + call + ": " + cublas_status_name(s) + " at " +
              (base ? base + 1 : file) + ":" + std::to_string(line));
}

void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line) {
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess && sync_after_launch()) {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(stream, &status) == cudaSuccess && status == cudaStreamCaptureStatusNone)
      e = cudaStreamSynchronize(stream);
  }
  if (e != cudaSuccess) throw_cuda_error(e, (std::string("kernel ") + kernel).c_str(), file, line);
}

}  // namespace kiln::cuda
