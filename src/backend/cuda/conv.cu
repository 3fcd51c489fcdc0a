// The data-movement kernels of im2col + GEMM convolution (the lowering of cpu/conv.h; the GEMMs
// are cuBLAS calls in backend.cpp). Index arithmetic is done in 32 bits when the whole index
// space fits (the common case: the backend chunks the batch so that the columns fit its
// workspace), in 64 bits otherwise.
#include <climits>

#include "backend/cuda/element.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/launch.cuh"

namespace kiln::cuda {

namespace {

// One thread per column entry, in the order of the destination (q fastest) so that the writes
// are coalesced; consecutive q read consecutive (stride 1) or evenly spaced input pixels.
template <class I>
__global__ void im2col_kernel(const float* __restrict__ x, float* __restrict__ cols, ConvDims g, I total,
                              bool matrix) {
  for (I i = static_cast<I>(grid_start()); i < total; i += static_cast<I>(grid_stride()))
    cols[i] = im2col_at(x, g, i, matrix);
}

// One thread per pixel of dx (N, C, H, W), gathering (element.h col2im_at).
template <class I>
__global__ void col2im_kernel(const float* __restrict__ dcols, float* __restrict__ dx, ConvDims g, I total) {
  for (I i = static_cast<I>(grid_start()); i < total; i += static_cast<I>(grid_stride())) dx[i] = col2im_at(dcols, g, i);
}

// y (N, K, PQ) = epilogue(y + b[k]).
__global__ void bias_epilogue_kernel(float* __restrict__ y, const float* __restrict__ b, int64_t n, int64_t K,
                                     int64_t PQ, bool relu) {
  for (int64_t i = grid_start(); i < n; i += grid_stride()) {
    float v = y[i];
    if (b) v += b[(i / PQ) % K];
    if (relu) v = v > 0 ? v : 0.0f;
    y[i] = v;
  }
}

// dymat (K, N*PQ) from dy (N, K, PQ), masked by y > 0 when y is given. One thread per dymat
// entry, in its order (coalesced writes; reads contiguous along pq).
template <class I>
__global__ void nchw_to_rows_kernel(const float* __restrict__ dy, const float* __restrict__ y,
                                    float* __restrict__ dymat, I N, I K, I PQ, I total) {
  for (I i = static_cast<I>(grid_start()); i < total; i += static_cast<I>(grid_stride()))
    dymat[i] = nchw_to_rows_at(dy, y, N, K, PQ, i);
}

// out[r] += Σ_j m[r, j]: one block per row (grid-strided), double partial sums.
__global__ void accumulate_rows_kernel(const float* __restrict__ m, float* __restrict__ out, int64_t rows,
                                       int64_t cols) {
  __shared__ double shared[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* mr = m + r * cols;
    double s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += mr[j];
    s = block_sum(s, shared);
    if (threadIdx.x == 0) out[r] += static_cast<float>(s);
  }
}

bool fits32(int64_t n) { return n < static_cast<int64_t>(INT_MAX); }

}  // namespace

void im2col(const float* x, float* cols, const ConvDims& d, int64_t stride_n, int64_t stride_row, cudaStream_t s) {
  const int64_t CRS = d.crs(), PQ = d.pq(), total = d.N * CRS * PQ;
  if (total <= 0) return;
  // The two layouts im2col_kernel writes; any other stride pair is a caller's bug.
  const bool matrix = stride_n == PQ && stride_row == d.N * PQ;
  KILN_CHECK(matrix || (stride_n == CRS * PQ && stride_row == PQ),
             "im2col: unsupported layout strides " << stride_n << ", " << stride_row);
  if (fits32(total))
    KILN_LAUNCH(im2col_kernel<uint32_t>, blocks_for(total), kThreads, s, x, cols, d,
                static_cast<uint32_t>(total), matrix);
  else
    KILN_LAUNCH(im2col_kernel<int64_t>, blocks_for(total), kThreads, s, x, cols, d, total, matrix);
}

void col2im(const float* dcols, float* dx, const ConvDims& d, cudaStream_t s) {
  const int64_t total = d.N * d.C * d.H * d.W;
  if (total <= 0) return;
  if (fits32(total))
    KILN_LAUNCH(col2im_kernel<uint32_t>, blocks_for(total), kThreads, s, dcols, dx, d,
                static_cast<uint32_t>(total));
  else
    KILN_LAUNCH(col2im_kernel<int64_t>, blocks_for(total), kThreads, s, dcols, dx, d, total);
}

void bias_epilogue(float* y, const float* b, int64_t N, int64_t K, int64_t PQ, bool relu, cudaStream_t s) {
  const int64_t n = N * K * PQ;
  if (n <= 0 || (!b && !relu)) return;
  KILN_LAUNCH(bias_epilogue_kernel, blocks_for(n), kThreads, s, y, b, n, K, PQ, relu);
}

void nchw_to_rows(const float* dy, const float* y, float* dymat, int64_t N, int64_t K, int64_t PQ, cudaStream_t s) {
  const int64_t total = N * K * PQ;
  if (total <= 0) return;
  if (fits32(total))
    KILN_LAUNCH(nchw_to_rows_kernel<uint32_t>, blocks_for(total), kThreads, s, dy, y, dymat,
                static_cast<uint32_t>(N), static_cast<uint32_t>(K), static_cast<uint32_t>(PQ),
                static_cast<uint32_t>(total));
  else
    KILN_LAUNCH(nchw_to_rows_kernel<int64_t>, blocks_for(total), kThreads, s, dy, y, dymat, N, K, PQ, total);
}

void accumulate_rows(const float* m, float* out, int64_t rows, int64_t cols, cudaStream_t s) {
  if (rows <= 0 || cols <= 0) return;
  const int64_t blocks = rows < kMaxBlocks ? rows : kMaxBlocks;
  KILN_LAUNCH(accumulate_rows_kernel, static_cast<unsigned>(blocks), kThreads, s, m, out, rows, cols);
}

}  // namespace kiln::cuda
