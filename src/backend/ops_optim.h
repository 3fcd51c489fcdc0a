#pragma once
// Tensor-level optimizer updates (the dispatch pattern of ops.h; the rules' math in
// math/update_rules.h). All tensors hold the same number of elements and live on one device.
#include "backend/math/update_rules.h"
#include "tensor/tensor.h"

namespace kiln::ops {

// One step of `rule` on params from grads; s0 and s1 are the rule's moment buffers (null for
// those it does not use: SGD without momentum none, SGD one, Adam two).
void optimizer_update(const math::UpdateRule& rule, Tensor& params, const Tensor& grads, const Tensor& decay_mask,
                      Tensor* s0, Tensor* s1);

}  // namespace kiln::ops
