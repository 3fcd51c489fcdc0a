#include "backend/ops_optim.h"

#include "backend/ops.h"

namespace kiln::ops {

static void check_layout(const Tensor& params, std::initializer_list<const Tensor*> others) {
  for (const Tensor* t : others)
    KILN_CHECK(t->numel() == params.numel(), "optimizer buffer of " << t->numel() << " for " << params.numel() << " parameters");
}

void sgd_update(Tensor& params, const Tensor& grads, const Tensor& decay_mask, Tensor& velocity, const SgdUpdate& u) {
  Backend& be = backend_for({&params, &grads, &decay_mask, &velocity});
  check_layout(params, {&grads, &decay_mask, &velocity});
  be.sgd_update(params.data(), grads.data(), decay_mask.data(), velocity.data(), params.numel(), u);
}

void adam_update(Tensor& params, const Tensor& grads, const Tensor& decay_mask, Tensor& m, Tensor& s,
                 const AdamUpdate& u) {
  Backend& be = backend_for({&params, &grads, &decay_mask, &m, &s});
  check_layout(params, {&grads, &decay_mask, &m, &s});
  be.adam_update(params.data(), grads.data(), decay_mask.data(), m.data(), s.data(), params.numel(), u);
}

}  // namespace kiln::ops
