#include "backend/cpu/optim.h"

#include <cmath>

#include "backend/cpu/threads.h"

namespace kiln::cpu {

constexpr int64_t kParallelMin = 1 << 15;

// One pass over memory per update: decay, momentum and the step fused per element. Arithmetic
// in Real, as the parameters are stored (PyTorch does the same in fp32). The loops capture by
// value: stores to theta could alias captures taken by reference, and GCC would then reload
// them (and load mask and v conditionally) every element instead of vectorising.
void sgd_update(Real* theta, const Real* g, const Real* mask, Real* v, int64_t n, const SgdUpdate& u) {
  const Real lr = u.lr, wd = u.weight_decay, mu = u.momentum, damp = u.average ? Real(1) - mu : Real(1);
  const bool coupled = wd != 0 && !u.decoupled, decoupled = wd != 0 && u.decoupled, momentum = mu != 0;
  const bool nesterov = u.nesterov;
  parallel_for(n, n > kParallelMin, [=](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      Real t = theta[i], gi = g[i];
      if (coupled) gi += wd * mask[i] * t;
      if (decoupled) t -= lr * wd * mask[i] * t;
      Real d = gi;
      if (momentum) {
        const Real vi = mu * v[i] + damp * gi;
        v[i] = vi;
        d = nesterov ? damp * gi + mu * vi : vi;
      }
      theta[i] = t - lr * d;
    }
  });
}

// The weight-decay form is a template argument: as run-time branches in the loop they kept it
// from vectorising.
template <bool kCoupled, bool kDecoupled>
static void adam_loop(Real* theta, const Real* g, const Real* mask, Real* m, Real* s, int64_t n, const AdamUpdate& u) {
  const Real lr = u.lr, wd = u.weight_decay, b1 = u.beta1, b2 = u.beta2, eps = u.eps;
  const Real inv_bias1 = Real(1) / u.bias1, inv_sqrt_bias2 = Real(1) / std::sqrt(static_cast<Real>(u.bias2));
  parallel_for(n, n > kParallelMin, [=](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      Real t = theta[i], gi = g[i];
      if constexpr (kCoupled) gi += wd * mask[i] * t;
      if constexpr (kDecoupled) t -= lr * wd * mask[i] * t;
      const Real mi = b1 * m[i] + (Real(1) - b1) * gi;
      const Real si = b2 * s[i] + (Real(1) - b2) * gi * gi;
      m[i] = mi;
      s[i] = si;
      // m̂ / (√ŝ + ε) with m̂ = m / (1 - β1ᵗ), √ŝ = √s / √(1 - β2ᵗ), as PyTorch's Adam.
      theta[i] = t - lr * (mi * inv_bias1) / (std::sqrt(si) * inv_sqrt_bias2 + eps);
    }
  });
}

void adam_update(Real* theta, const Real* g, const Real* mask, Real* m, Real* s, int64_t n, const AdamUpdate& u) {
  const bool coupled = u.weight_decay != 0 && !u.decoupled, decoupled = u.weight_decay != 0 && u.decoupled;
  if (coupled) adam_loop<true, false>(theta, g, mask, m, s, n, u);
  else if (decoupled) adam_loop<false, true>(theta, g, mask, m, s, n, u);
  else adam_loop<false, false>(theta, g, mask, m, s, n, u);
}

}  // namespace kiln::cpu
