#pragma once
// Small vector kernels around the GEMMs of dense layers and residual sums.
#include <cstdint>

#include "tensor/tensor.h"

namespace kiln::cpu {

// y[n, j] += b[j] for y (N, F): the bias of a dense layer.
void add_row_bias(Real* y, const Real* b, int64_t N, int64_t F);
// db[j] += Σ_n dy[n, j]: its gradient, dL/db = dL/dYᵀ 1.
void accumulate_row_sum(const Real* dy, Real* db, int64_t N, int64_t F);
// y += α x
void axpy(Real alpha, const Real* x, Real* y, int64_t n);
// x *= alpha
void scale(Real* x, Real alpha, int64_t n);
// Σ x², in double (each thread's range in a double accumulator, the ranges added in order).
double sum_squares(const Real* x, int64_t n);

}  // namespace kiln::cpu
