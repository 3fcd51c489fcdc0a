#include "backend/ops_optim.h"

#include "backend/ops.h"

namespace kiln::ops {

void optimizer_update(const math::UpdateRule& rule, Tensor& params, const Tensor& grads, const Tensor& decay_mask,
                      Tensor* s0, Tensor* s1) {
  Backend& be = backend_for({&params, &grads, &decay_mask});
  for (const Tensor* t : {&grads, &decay_mask, static_cast<const Tensor*>(s0), static_cast<const Tensor*>(s1)}) {
    if (!t) continue;
    backend_for({&params, t});
    KILN_REQUIRE(t->numel() == params.numel(),
                 "optimizer buffer of " << t->numel() << " for " << params.numel() << " parameters");
  }
  // A buffer the rule does not use is never read or written: the gradient stands in for it.
  Real* unused = const_cast<Real*>(grads.data());
  be.optimizer_update(rule, params.data(), grads.data(), decay_mask.data(), s0 ? s0->data() : unused,
                      s1 ? s1->data() : unused, params.numel());
}

}  // namespace kiln::ops
