#pragma once
// The optimizer updates, written once for every backend (the math and its derivation are in
// optim/optimizer.h). A rule holds the scalars of one step, set on the host by the optimizer
// (optim/sgd.cpp, optim/adam.cpp); the backends' kernels (cpu/optim.cpp, cuda/optim.cu) loop
// over the flat buffers, parameters θ, gradients g, the decay mask and up to two moment
// buffers s0, s1 (one layout), and call the rule's body on each element.
//
// A rule gives its loop a body specialised on its flags (with_body): branches on flags that
// are fixed for the whole loop would keep the CPU loop from vectorising. Arithmetic is in T,
// the parameters' type (float; double in the gradient-check build), as PyTorch does in fp32.
// Plain C++17 (nvcc compiles it for the CUDA kernels).
//
// Adding a rule: a struct with the step's scalars and with_body(), then its name in UpdateRule.
#include <math.h>

#include <cstdint>
#include <variant>

#include "tensor/hd.h"

namespace kiln::math {

struct SgdRule {
  float lr = 0;
  float weight_decay = 0;
  bool decoupled = false;  // θ -= lr λ m θ instead of g += λ m θ
  float momentum = 0;      // μ; 0: plain SGD (s0, the velocity, is not touched)
  bool average = false;    // v = μ v + (1 - μ) g instead of v = μ v + g
  bool nesterov = false;

  // GCC unswitches these flags out of the loop by itself, so one body serves every form.
  template <class T>
  struct Body {
    T lr, wd, mu, damp;
    bool coupled, decoupled, momentum, nesterov;
    KILN_HD void operator()(T* theta, const T* g, const T* mask, T* v, T* /*unused*/, int64_t i) const {
      T t = theta[i], gi = g[i];
      if (coupled) gi += wd * mask[i] * t;
      if (decoupled) t -= lr * wd * mask[i] * t;
      T d = gi;
      if (momentum) {
        const T vi = mu * v[i] + damp * gi;
        v[i] = vi;
        d = nesterov ? damp * gi + mu * vi : vi;
      }
      theta[i] = t - lr * d;
    }
  };
  template <class T, class F>
  void with_body(F&& loop) const {
    const T mu = momentum;
    loop(Body<T>{T(lr), T(weight_decay), mu, average ? T(1) - mu : T(1), weight_decay != 0 && !decoupled,
                 weight_decay != 0 && decoupled, momentum != 0, nesterov});
  }
};

struct AdamRule {
  float lr = 0;
  float weight_decay = 0;
  bool decoupled = false;  // AdamW
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float bias1 = 1, bias2 = 1;  // 1 - β1ᵗ and 1 - β2ᵗ for this step t (1-based)

  // s0 = m, s1 = s. The decay form is a template argument: as run-time branches these kept
  // GCC from vectorising the loop.
  template <class T, bool kCoupled, bool kDecoupled>
  struct Body {
    T lr, wd, b1, b2, eps, inv_bias1, inv_sqrt_bias2;
    KILN_HD void operator()(T* theta, const T* g, const T* mask, T* m, T* s, int64_t i) const {
      T t = theta[i], gi = g[i];
      if (kCoupled) gi += wd * mask[i] * t;
      if (kDecoupled) t -= lr * wd * mask[i] * t;
      const T mi = b1 * m[i] + (T(1) - b1) * gi;
      const T si = b2 * s[i] + (T(1) - b2) * gi * gi;
      m[i] = mi;
      s[i] = si;
      // m̂ / (√ŝ + ε) with m̂ = m / (1 - β1ᵗ), √ŝ = √s / √(1 - β2ᵗ), as PyTorch's Adam.
      theta[i] = t - lr * (mi * inv_bias1) / (sqrt(si) * inv_sqrt_bias2 + eps);
    }
  };
  template <class T, class F>
  void with_body(F&& loop) const {
    const T inv_bias1 = T(1) / T(bias1), inv_sqrt_bias2 = T(1) / sqrt(T(bias2));
    const bool coupled = weight_decay != 0 && !decoupled, dec = weight_decay != 0 && decoupled;
    auto make = [&](auto body) {
      body.lr = lr, body.wd = weight_decay, body.b1 = beta1, body.b2 = beta2, body.eps = eps;
      body.inv_bias1 = inv_bias1, body.inv_sqrt_bias2 = inv_sqrt_bias2;
      loop(body);
    };
    if (coupled) make(Body<T, true, false>{});
    else if (dec) make(Body<T, false, true>{});
    else make(Body<T, false, false>{});
  }
};

// Every rule a backend can run.
using UpdateRule = std::variant<SgdRule, AdamRule>;

}  // namespace kiln::math
