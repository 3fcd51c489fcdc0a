#pragma once
// cuBLAS GEMMs for the CUDA backend, and the steps of the convolution plan (conv_plan.h) as
// kernel launches on the backend's stream.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "backend/cuda/conv_plan.h"

namespace kiln::cuda {

// A column-major, strided-batched GEMM through cuBLAS (k = 0: C = βC, which cuBLAS would
// reject for its zero leading dimensions).
void run_gemm(cublasHandle_t h, cudaStream_t s, const BlasGemm& g, float alpha, float beta);

// The steps of conv_plan.h as kernel launches on the backend's stream.
struct GpuExec {
  cudaStream_t s;
  cublasHandle_t h;
  void im2col(const float* x, float* cols, const ConvDims& d, int64_t stride_n, int64_t stride_row);
  void col2im(const float* dcols, float* dx, const ConvDims& d);
  void nchw_to_rows(const float* dy, const float* y, float* dymat, int64_t N, int64_t K, int64_t PQ);
  void accumulate_rows(const float* m, float* out, int64_t rows, int64_t cols);
  void bias_epilogue(float* y, const float* b, int64_t N, int64_t K, int64_t PQ, bool relu);
  void fill_zero(float* p, int64_t n);
  void gemm(const BlasGemm& g, float alpha, float beta) { run_gemm(h, s, g, alpha, beta); }
};

}  // namespace kiln::cuda
