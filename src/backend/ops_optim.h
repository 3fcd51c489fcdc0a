#pragma once
// Tensor-level optimizer updates (the dispatch pattern of ops.h; kernels in cpu/optim.h).
// All tensors hold the same number of elements and live on one device.
#include "backend/update_rules.h"
#include "tensor/tensor.h"

namespace kiln::ops {

void sgd_update(Tensor& params, const Tensor& grads, const Tensor& decay_mask, Tensor& velocity, const SgdUpdate& u);
void adam_update(Tensor& params, const Tensor& grads, const Tensor& decay_mask, Tensor& m, Tensor& s,
                 const AdamUpdate& u);

}  // namespace kiln::ops
