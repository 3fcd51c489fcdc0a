#include "backend/cuda/gemm.h"

#include "backend/cuda/check.h"
#include "backend/cuda/cublas_library.h"
#include "backend/cuda/kernels.h"

namespace kiln::cuda {

void run_gemm(cublasHandle_t h, cudaStream_t s, const BlasGemm& g, float alpha, float beta) {
  if (g.m <= 0 || g.n <= 0 || g.batch <= 0) return;
  if (g.k <= 0) {
    for (int64_t b = 0; b < g.batch; ++b) {
      float* C = g.C + b * g.stride_c;
      if (g.ldc == g.m) scale(C, beta, g.m * g.n, s);
      else
        for (int64_t j = 0; j < g.n; ++j) scale(C + j * g.ldc, beta, g.m, s);
    }
    return;
  }
  const cublasOperation_t ta = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (g.batch == 1)
    KILN_CUBLAS(cublas().sgemm(h, ta, tb, g.m, g.n, g.k, &alpha, g.A, g.lda, g.B, g.ldb, &beta, g.C, g.ldc));
  else
    KILN_CUBLAS(cublas().sgemm_strided_batched(h, ta, tb, g.m, g.n, g.k, &alpha, g.A, g.lda, g.stride_a, g.B, g.ldb,
                                             g.stride_b, &beta, g.C, g.ldc, g.stride_c, g.batch));
}

void GpuExec::im2col(const float* x, float* cols, const ConvDims& d, int64_t stride_n, int64_t stride_row) {
  cuda::im2col(x, cols, d, stride_n, stride_row, s);
}
void GpuExec::col2im(const float* dcols, float* dx, const ConvDims& d) { cuda::col2im(dcols, dx, d, s); }
void GpuExec::nchw_to_rows(const float* dy, const float* y, float* dymat, int64_t N, int64_t K, int64_t PQ) {
  cuda::nchw_to_rows(dy, y, dymat, N, K, PQ, s);
}
void GpuExec::accumulate_rows(const float* m, float* out, int64_t rows, int64_t cols) {
  cuda::accumulate_rows(m, out, rows, cols, s);
}
void GpuExec::bias_epilogue(float* y, const float* b, int64_t N, int64_t K, int64_t PQ, bool relu) {
  cuda::bias_epilogue(y, b, N, K, PQ, relu, s);
}
void GpuExec::fill_zero(float* p, int64_t n) { cuda::fill(p, 0.0f, n, s); }

}  // namespace kiln::cuda
