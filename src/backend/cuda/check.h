#pragma once
// Error checking for the CUDA backend: every CUDA runtime and cuBLAS call goes through one of
// these, and every kernel launch is followed by check_launch("kernel name"). A failure throws
// kiln::Error naming the call (or kernel) and the runtime's message; the process never aborts.
//
// Kernels run asynchronously: an error inside a kernel (an illegal address, say) surfaces at
// the next call that waits for the stream, and is reported as that call's. Set
// KILN_CUDA_SYNC=1 to synchronise after every launch, so that the failing kernel is the one
// named (a debugging aid: much slower, and ignored while a graph is being captured).
//
// Included by the backend's C++ (.cpp, C++20) and CUDA (.cu, C++17) sources alike.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "tensor/check.h"

namespace kiln::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t e, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t s, const char* call, const char* file, int line);

inline void check_cuda(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess) throw_cuda_error(e, call, file, line);
}
inline void check_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS) throw_cublas_error(s, call, file, line);
}

// After a kernel launch on `stream`: the launch's own error (bad configuration, no kernel image
// for this GPU), and under KILN_CUDA_SYNC=1 the kernel's execution error too.
void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line);

// An on/off environment variable: `unset` where it is unset or "", off where it is "0", else on
// (KILN_CUDA_SYNC, off unless set; KILN_CUDA_TF32, on unless "0").
bool env_flag(const char* name, bool unset = false);

}  // namespace kiln::cuda

#define KILN_CUDA(call) ::kiln::cuda::check_cuda((call), #call, __FILE__, __LINE__)
#define KILN_CUBLAS(call) ::kiln::cuda::check_cublas((call), #call, __FILE__, __LINE__)
#define KILN_LAUNCHED(kernel, stream) ::kiln::cuda::check_launch(kernel, stream, __FILE__, __LINE__)
