#pragma once
// Tensor-level pooling ops (see ops.h for the conventions). x (N, C, H, W), y (N, C, P, Q) for
// k×k windows at the given stride without padding; gradients dx are overwritten.
#include <cstdint>

#include "backend/ops.h"
#include "tensor/buffer.h"

namespace kiln::ops {

// argmax: one byte per output on x's device, the window offset r·k + s of each max (cached
// for backward; so windows are at most 16×16).
void maxpool_forward(const Tensor& x, int64_t k, int64_t stride, Tensor& y, Buffer& argmax);
void maxpool_backward(const Tensor& dy, const Buffer& argmax, int64_t k, int64_t stride, Tensor& dx);
void avgpool_forward(const Tensor& x, int64_t k, int64_t stride, Tensor& y);
void avgpool_backward(const Tensor& dy, int64_t k, int64_t stride, Tensor& dx);
// x (N, C, H, W) -> y (N, C).
void global_avgpool_forward(const Tensor& x, Tensor& y);
void global_avgpool_backward(const Tensor& dy, Tensor& dx);

}  // namespace kiln::ops
