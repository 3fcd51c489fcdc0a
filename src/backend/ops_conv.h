#pragma once
// Tensor-level convolution ops (see ops.h for the conventions; the kernels' math is in
// layers/conv2d.cpp and backend/cpu/conv.h). x (N, C, H, W), w (K, C, R, S), b (K) or null,
// y and dy (N, K, P, Q), each checked against the dims d (conv_dims of backend/dims.h).
#include "backend/dims.h"
#include "backend/ops.h"

namespace kiln::ops {

// y = epilogue(conv(x, w) + b).
void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y, const ConvDims& d,
                    Epilogue epilogue = Epilogue::none);
// dy is dL/d(stored y); overwrites *dx when dx is non-null, accumulates dw and *db.
void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, Tensor* dx, Tensor& dw,
                     Tensor* db, const ConvDims& d, Epilogue epilogue = Epilogue::none);

}  // namespace kiln::ops
