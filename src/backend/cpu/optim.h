#pragma once
// Optimizer updates over n parameters at once (flat buffers of the same layout): θ the
// parameters, g their gradients, mask 1 where weight decay applies, s0 / s1 the rule's moment
// buffers (unused ones may be anything). The per-element math is the rule's (math/update_rules.h).
#include <cstdint>

#include "backend/math/update_rules.h"
#include "tensor/tensor.h"

namespace kiln::cpu {

void optimizer_update(const math::UpdateRule& rule, Real* theta, const Real* g, const Real* mask, Real* s0, Real* s1,
                      int64_t n);

}  // namespace kiln::cpu
