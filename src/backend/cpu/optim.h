#pragma once
// Optimizer updates over n parameters at once (flat buffers of the same layout): θ the
// parameters, g their gradients, mask 1 where weight decay applies, v / m / s the moments.
#include <cstdint>

#include "backend/update_rules.h"
#include "tensor/tensor.h"

namespace kiln::cpu {

void sgd_update(Real* theta, const Real* g, const Real* mask, Real* v, int64_t n, const SgdUpdate& u);
void adam_update(Real* theta, const Real* g, const Real* mask, Real* m, Real* s, int64_t n, const AdamUpdate& u);

}  // namespace kiln::cpu
