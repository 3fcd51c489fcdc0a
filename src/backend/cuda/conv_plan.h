#pragma once
// The CUDA backend's convolution algorithm (im2col + GEMM over chunks of samples) and its
// row-major GEMMs, written once over an executor `Ex` that provides the steps:
//   ex.im2col(x, cols, dims, stride_n, stride_row)   (kernels.h im2col)
//   ex.col2im(dcols, dx, dims)
//   ex.nchw_to_rows(dy, y_or_null, dymat, N, K, PQ)
//   ex.accumulate_rows(m, out, rows, cols)
//   ex.bias_epilogue(y, b_or_null, N, K, PQ, relu)
//   ex.fill_zero(p, n)
//   ex.gemm(const BlasGemm&, alpha, beta)             (a column-major, strided-batched GEMM)
// backend.cpp runs it with kernel launches and cuBLAS; tests/backend_ops_test.cpp runs the very
// same plan with the host versions of the kernels (element.h) and a naive column-major GEMM,
// and compares it with the CPU's convolution, on machines without a GPU too.
//
// Forward, per chunk of n samples:
//   cols (n, CRS, PQ) = im2col(x)        (a 1x1, stride-1, unpadded conv reads x itself)
//   y_s (K, PQ) = W (K, CRS) · cols_s   for each sample s: one strided-batched GEMM, straight
//                                       into y (N, K, P, Q)
// then y = epilogue(y + b) in one pass over the whole output.
// Backward, per chunk of n samples:
//   dY (K, n·PQ) = dy reordered, masked by y > 0 under the ReLU epilogue
//   db += Σ_j dY[k, j];  cols (CRS, n·PQ) = im2col(x);  dW (K, CRS) += dY · colsᵀ
//   dcols = Wᵀ · dY;  dx = col2im(dcols)  (a gather that overwrites dx)
#include <algorithm>
#include <cstdint>

#include "backend/dims.h"

namespace kiln::cuda {

// A column-major GEMM as cuBLAS takes it, batched with strides (batch 1: a plain GEMM):
//   C_i (m×n) = α op(A_i) (m×k) · op(B_i) (k×n) + β C_i,  X_i = X + i·stride_x.
struct BlasGemm {
  bool trans_a, trans_b;
  int64_t m, n, k;
  const float* A;
  int64_t lda, stride_a;
  const float* B;
  int64_t ldb, stride_b;
  float* C;
  int64_t ldc, stride_c;
  int64_t batch;
};

// Row-major C (M×N) = op(A) (M×K) · op(B) (K×N) with row strides lda, ldb, ldc. A row-major
// matrix is its transpose in column-major order with the same leading dimension, so this is
// the column-major Cᵀ (N×M) = op(B)ᵀ · op(A)ᵀ: A and B swap places, and M and N.
inline BlasGemm row_major_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                               const float* B, int64_t ldb, float* C, int64_t ldc) {
  return {trans_b, trans_a, N, M, K, B, ldb, 0, A, lda, 0, C, ldc, 0, 1};
}

// The forward GEMM of `samples` samples: y_s (K×PQ) = W (K×CRS) · cols_s (CRS×PQ), row-major,
// cols in the per-sample layout; in column-major terms y_sᵀ (PQ×K) = cols_sᵀ (PQ×CRS) · Wᵀ.
inline BlasGemm conv_forward_gemm(const ConvDims& d, int64_t samples, const float* cols, const float* w, float* y) {
  const int64_t PQ = d.pq(), CRS = d.crs();
  return {false, false, PQ, d.K, CRS, cols, PQ, CRS * PQ, w, CRS, 0, y, PQ, d.K * PQ, samples};
}

// Samples per chunk: as many as keep `per_sample` floats each within `budget` bytes (≥ 1).
inline int64_t conv_chunk(const ConvDims& d, int64_t per_sample, int64_t budget) {
  const int64_t bytes = std::max<int64_t>(per_sample, 1) * static_cast<int64_t>(sizeof(float));
  return std::clamp<int64_t>(budget / bytes, 1, std::max<int64_t>(d.N, 1));
}

// Whether x (N, C, H, W) already is the column matrix of each sample.
inline bool conv_pointwise(const ConvDims& d) { return d.R == 1 && d.S == 1 && d.stride == 1 && d.pad == 0; }

// Workspace floats the forward and backward plans need for a budget.
inline int64_t conv_forward_workspace(const ConvDims& d, int64_t budget) {
  return conv_pointwise(d) ? 0 : conv_chunk(d, d.crs() * d.pq(), budget) * d.crs() * d.pq();
}
inline int64_t conv_backward_workspace(const ConvDims& d, int64_t budget) {
  return conv_chunk(d, (d.crs() + d.K) * d.pq(), budget) * (d.crs() + d.K) * d.pq();
}

// y = epilogue(conv(x, w) + b); ws holds conv_forward_workspace(d, budget) floats.
template <class Ex>
void conv_forward_plan(Ex& ex, const float* x, const float* w, const float* b, float* y, const ConvDims& d, bool relu,
                       float* ws, int64_t budget) {
  if (d.N <= 0 || d.K <= 0 || d.P <= 0 || d.Q <= 0) return;
  const int64_t PQ = d.pq(), CRS = d.crs(), CHW = d.C * d.H * d.W;
  const bool pointwise = conv_pointwise(d);
  const int64_t chunk = pointwise ? d.N : conv_chunk(d, CRS * PQ, budget);
  for (int64_t n0 = 0; n0 < d.N; n0 += chunk) {
    ConvDims c = d;
    c.N = std::min(chunk, d.N - n0);
    const float* cols = x + n0 * CHW;
    if (!pointwise) {
      ex.im2col(x + n0 * CHW, ws, c, CRS * PQ, PQ);
      cols = ws;
    }
    ex.gemm(conv_forward_gemm(d, c.N, cols, w, y + n0 * d.K * PQ), 1.0f, 0.0f);
  }
  ex.bias_epilogue(y, b, d.N, d.K, PQ, relu);
}

// dx = conv_backward_data(g, w) (overwritten; skipped when null), dw += conv_backward_weights(g, x),
// db += Σ g (skipped when null), with g = dy masked by y > 0 under the ReLU epilogue; ws holds
// conv_backward_workspace(d, budget) floats.
template <class Ex>
void conv_backward_plan(Ex& ex, const float* x, const float* w, const float* y, const float* dy, float* dx, float* dw,
                        float* db, const ConvDims& d, bool relu, float* ws, int64_t budget) {
  if (d.N <= 0) return;
  const int64_t CHW = d.C * d.H * d.W;
  if (d.K <= 0 || d.P <= 0 || d.Q <= 0) {  // no outputs: nothing flows back
    if (dx) ex.fill_zero(dx, d.N * CHW);
    return;
  }
  const int64_t PQ = d.pq(), CRS = d.crs();
  const int64_t chunk = conv_chunk(d, (CRS + d.K) * PQ, budget);
  float* cols = ws;
  float* dymat = ws + chunk * CRS * PQ;
  for (int64_t n0 = 0; n0 < d.N; n0 += chunk) {
    ConvDims c = d;
    c.N = std::min(chunk, d.N - n0);
    const int64_t NPQ = c.N * PQ;
    ex.nchw_to_rows(dy + n0 * d.K * PQ, relu ? y + n0 * d.K * PQ : nullptr, dymat, c.N, d.K, PQ);
    if (db) ex.accumulate_rows(dymat, db, d.K, NPQ);
    ex.im2col(x + n0 * CHW, cols, c, PQ, NPQ);
    // dW (K×CRS) += dY (K×NPQ) · colsᵀ (NPQ×CRS)
    ex.gemm(row_major_gemm(false, true, d.K, CRS, NPQ, dymat, NPQ, cols, NPQ, dw, CRS), 1.0f, 1.0f);
    if (dx) {
      // dcols (CRS×NPQ) = Wᵀ (CRS×K) · dY (K×NPQ), into the columns' place
      ex.gemm(row_major_gemm(true, false, CRS, NPQ, d.K, w, CRS, dymat, NPQ, cols, NPQ), 1.0f, 0.0f);
      ex.col2im(cols, dx + n0 * CHW, c);
    }
  }
}

}  // namespace kiln::cuda
