#pragma once
// Convolution kernels on raw NCHW buffers: the im2col lowering used by Conv2d (one GEMM per
// chunk of samples) and a direct reference that tests compare it against.
//
// Column layout (the "cols" matrix of im2col), for a chunk of N samples:
//     cols[(c*R + r)*S + s][n*P*Q + p*Q + q] = x[n, c, p*stride - pad + r, q*stride - pad + s]
// (zero where the index falls in the padding), i.e. a (C*R*S, N*P*Q) row-major matrix whose
// row index is the reduction index of the convolution. Then for W read as (K, C*R*S):
//     Y_mat (K, N*P*Q) = W · cols,
// and Y_mat is reordered into y (N, K, P, Q).
#include <cstdint>

#include "backend/dims.h"
#include "tensor/tensor.h"

namespace kiln::cpu {

// The whole convolution, as Conv2d calls it through the backend (the fast kernels of
// conv_winograd.h or conv_direct.h where they apply, see set_conv_path, else the lowering below):
//   forward:  y = epilogue(conv(x, w) + b)                       (b may be null)
//   backward: g = dy, masked by y > 0 under Epilogue::relu; then
//             dx = conv_backward_data(g, w)  (overwritten; skipped when null)
//             dw += conv_backward_weights(g, x), db += Σ g  (db skipped when null)
// Lowered to im2col + GEMM (the math is in layers/conv2d.cpp) over chunks of samples whose
// columns fit a per-thread workspace.
void conv2d_forward(const Real* x, const Real* w, const Real* b, Real* y, const ConvDims& d, Epilogue epilogue);
void conv2d_backward(const Real* x, const Real* w, const Real* y, const Real* dy, Real* dx, Real* dw, Real* db,
                     const ConvDims& d, Epilogue epilogue);
// The workspace bound of the lowering (bytes per chunk); returns the previous one. For tests
// and benchmarks that need several chunks or other chunk sizes.
int64_t set_conv_chunk_bytes(int64_t bytes);
// Which implementation the two calls above use: by default (automatic) the Winograd kernels of
// conv_winograd.h where they apply and pay (fast_path in conv.cpp), else the direct kernels of
// conv_direct.h where they apply, else the lowering. Tests and benchmarks force one; a forced
// fast path that does not apply to a shape falls back to the lowering. Returns the previous
// setting.
enum class ConvPath { automatic, lowered, direct, winograd };
ConvPath set_conv_path(ConvPath path);
// Weight gradients whose exact zeros stay zeros (not from the Winograd kernels, whose error
// is spread over every entry): for optimizers that divide by the gradient's own scale (Adam).
// Returns the previous setting.
bool set_exact_weight_gradients(bool exact);

// x (N, C, H, W) -> cols (C*R*S, N*P*Q), overwriting.
void im2col(const Real* x, Real* cols, const ConvDims& d);
// The adjoint of im2col: dx (N, C, H, W) += the columns scattered back to the pixels they were
// read from (a pixel read by several windows receives the sum).
void col2im(const Real* cols, Real* dx, const ConvDims& d);

// y (N, K, P*Q) = ymat (K, N*P*Q) reordered, plus bias[k] (bias may be null).
void cols_to_nchw(const Real* ymat, const Real* bias, Real* y, int64_t N, int64_t K, int64_t PQ);
// dymat (K, N*P*Q) = dy (N, K, P*Q) reordered.
void nchw_to_cols(const Real* dy, Real* dymat, int64_t N, int64_t K, int64_t PQ);
// y (N, K, HW) += b[k].
void add_channel_bias(Real* y, const Real* b, int64_t N, int64_t K, int64_t HW);
// db (K) += Σ over n and the plane of dy (N, K, HW): the gradient of a per-channel bias.
void accumulate_channel_sum(const Real* dy, Real* db, int64_t N, int64_t K, int64_t HW);

// Direct convolution, the reference: y (N, K, P, Q) = Σ_{c,r,s} w (K, C, R, S) x + b (b may be
// null), accumulated in double.
void conv2d_forward_naive(const Real* x, const Real* w, const Real* b, Real* y, const ConvDims& d);
// Direct backward, each output element gathered (not scattered) in double:
//   dx (N, C, H, W) overwritten (skipped if null); dw (K, C, R, S) and db (K, skipped if null)
//   accumulated, as the layer contract asks.
void conv2d_backward_naive(const Real* x, const Real* w, const Real* dy, Real* dx, Real* dw, Real* db,
                           const ConvDims& d);

}  // namespace kiln::cpu
