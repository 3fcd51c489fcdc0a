#pragma once
// Elementwise activations on raw buffers of n elements, each the loop over its body in
// math/activations.h. Backward takes what the derivative is cheapest to compute from (the
// activation's from_output): the input x for ReLU/LeakyReLU, the output y for tanh/sigmoid.
#include <cstdint>

#include "backend/math/activations.h"
#include "tensor/tensor.h"

namespace kiln::cpu {

// y = f(x)
void activation_forward(const math::Activation& f, const Real* x, Real* y, int64_t n);
// dx = dy ⊙ f'(saved), saved the input or the output as f says; dx may alias dy.
void activation_backward(const math::Activation& f, const Real* saved, const Real* dy, Real* dx, int64_t n);

}  // namespace kiln::cpu
