#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace kiln::cpu {

// Softmax cross-entropy over rows of logits z (N, K) with integer labels, label smoothing ε:
//   p = softmax(z) (max-subtracted, so exp never overflows)
//   q = (1 - ε) onehot(label) + ε / K
//   L = -(1/N) Σ_n Σ_k q_nk log p_nk,   log p computed as z - max - log Σ exp(z - max)
//   dL/dz = (p - q) / N
// labels[n] holds the class index as a Real (exact for any class count below 2^24).
// Writes p into probs and dL/dz into dz (either may be null); returns L.
double softmax_xent(const Real* z, const Real* labels, int64_t N, int64_t K, Real smoothing, Real* probs,
                    Real* dz);

// Mean squared error: L = (1/N) Σ_n ½ ||y_n - t_n||²,
// dL/dy = (y - t) / N. (The ½ and the per-sample mean follow the FMAN45 convention.)
double mse(const Real* y, const Real* t, int64_t N, int64_t F, Real* dy);

}  // namespace kiln::cpu
