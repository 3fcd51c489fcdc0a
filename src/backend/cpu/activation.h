#pragma once
// Elementwise activations on raw buffers of n elements. Forward and backward side by side.
// Backward kernels take what the derivative is cheapest to compute from: the input x for
// ReLU/LeakyReLU, the output y for tanh/sigmoid (tanh' = 1 - y^2, sigmoid' = y (1 - y)).
#include <cstdint>

#include "tensor/tensor.h"

namespace kiln::cpu {

void relu_forward(const Real* x, Real* y, int64_t n);
void relu_backward(const Real* x, const Real* dy, Real* dx, int64_t n);

void leaky_relu_forward(const Real* x, Real* y, int64_t n, Real slope);
void leaky_relu_backward(const Real* x, const Real* dy, Real* dx, int64_t n, Real slope);

void tanh_forward(const Real* x, Real* y, int64_t n);
void tanh_backward(const Real* y, const Real* dy, Real* dx, int64_t n);

void sigmoid_forward(const Real* x, Real* y, int64_t n);
void sigmoid_backward(const Real* y, const Real* dy, Real* dx, int64_t n);

}  // namespace kiln::cpu
