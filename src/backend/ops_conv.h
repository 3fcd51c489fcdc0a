#pragma once
// Tensor-level convolution ops (see ops.h for the conventions): the pieces Conv2d lowers a
// convolution to. The GEMMs between them are ops::matmul.
//   im2col:  x (N, C, H, W)  -> cols (C*R*S, N*P*Q)      (layout in backend/cpu/conv.h)
//   col2im:  cols            -> dx (N, C, H, W)          (the adjoint of im2col)
//   conv_output_from_cols / conv_grad_to_cols: (K, N*P*Q) <-> (N, K, P, Q)
#include "backend/ops.h"

namespace kiln::ops {

struct ConvGeometry {
  int64_t R, S;  // kernel height, width
  int64_t stride, pad;
};

// cols (C*R*S, N*P*Q) = im2col(x (N, C, H, W)), overwriting.
void im2col(const Tensor& x, const ConvGeometry& g, Tensor& cols);
// dx (N, C, H, W) = col2im(cols), or += when accumulate.
void col2im(const Tensor& cols, const ConvGeometry& g, Tensor& dx, bool accumulate);

// y (N, K, P, Q) = ymat (K, N*P*Q) reordered, + bias[k] when bias is non-null.
void conv_output_from_cols(const Tensor& ymat, const Tensor* bias, Tensor& y);
// dymat (K, N*P*Q) = dy (N, K, P, Q) reordered.
void conv_grad_to_cols(const Tensor& dy, Tensor& dymat);

// y (N, K, H, W) += b[k].
void add_channel_bias(Tensor& y, const Tensor& b);
// db[k] += Σ_{n,h,w} dy[n, k, h, w].
void accumulate_channel_sum(const Tensor& dy, Tensor& db);

}  // namespace kiln::ops
