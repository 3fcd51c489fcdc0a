#pragma once
// Pooling kernels on raw NCHW buffers. Windows are k×k with the given stride and no padding:
//   P = (H - k) / stride + 1, Q = (W - k) / stride + 1.
// The fast kernels run over (sample, channel) planes in parallel and scatter gradients; the
// naive references gather each input gradient from the windows that contain it.
#include <cstdint>

#include "backend/dims.h"
#include "tensor/tensor.h"

namespace kiln::cpu {

// y (N, C, P, Q) = window max; argmax (N, C, P, Q) = offset r*k + s of the first max in its
// window (ties go to the first in row-major order; a NaN wins and stays).
void maxpool_forward(const Real* x, Real* y, uint8_t* argmax, const PoolDims& d);
// dx (N, C, H, W) = dy routed to the argmax of each window (overwriting; summed where windows overlap).
void maxpool_backward(const Real* dy, const uint8_t* argmax, Real* dx, const PoolDims& d);

// y = window mean; dx (overwritten) = dy / k² spread over each window.
void avgpool_forward(const Real* x, Real* y, const PoolDims& d);
void avgpool_backward(const Real* dy, Real* dx, const PoolDims& d);

// y (planes) = mean of each plane of x (planes, HW); dx = dy / HW over the plane.
void global_avgpool_forward(const Real* x, Real* y, int64_t planes, int64_t HW);
void global_avgpool_backward(const Real* dy, Real* dx, int64_t planes, int64_t HW);

// References.
void maxpool_forward_naive(const Real* x, Real* y, const PoolDims& d);
void maxpool_backward_naive(const Real* x, const Real* dy, Real* dx, const PoolDims& d);
void avgpool_forward_naive(const Real* x, Real* y, const PoolDims& d);
void avgpool_backward_naive(const Real* dy, Real* dx, const PoolDims& d);

}  // namespace kiln::cpu
