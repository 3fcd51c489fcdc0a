#pragma once
// Gradient checking by central finite differences (STYLE.md #3).
//
// For a scalar function L(θ) and the analytic gradient g = dL/dθ from backward, each checked
// element is compared with the central difference
//     n_i = (L(θ + h e_i) - L(θ - h e_i)) / 2h,       error O(h²)
// at several step sizes h; an element passes if for some h
//     |g_i - n_i| <= atol + rtol * max(|g_i|, |n_i|).
// Taking the best step absorbs both truncation error (h too large) and round-off (h too small).
// Layers are checked through L = Σ r ⊙ f(x) with a fixed random r, so dL/dy = r.
//
// Kinks. Where L is not differentiable within ±h (a ReLU input or two max-pool candidates that
// the nudge carries across each other) the difference quotient measures a mix of two slopes. In
// a large network some pre-activation lies that close to a kink for most h (batch-normalised
// ReLU inputs crowd around 0), so such elements fail for reasons that are not bugs. They show
// themselves by quotients that change with h: a wrong gradient gives quotients that agree with
// each other (L is smooth there) and not with g. An element that fails with no two adjacent
// steps agreeing is counted as "not smooth" instead of failed when kinks_fail is false (the
// `kiln gradcheck` command); the tests keep the default, where it fails. A check that sets aside
// more than half its elements is not passed.
#include <functional>
#include <string>
#include <vector>

#include "layers/layer.h"
#include "loss/loss.h"
#include "model/model.h"

namespace kiln {

struct GradCheckOptions {
  std::vector<double> steps{1e-2, 1e-3, 1e-4, 1e-5};
  double rtol = sizeof(Real) == 8 ? 1e-6 : 2e-2;
  double atol = sizeof(Real) == 8 ? 1e-8 : 1e-3;
  int64_t max_elements = 200;  // per tensor; larger tensors are sampled (seeded)
  uint64_t seed = 1;
  bool kinks_fail = true;      // false: a failing element whose quotients disagree is "not smooth"
};

struct GradCheckResult {
  bool ok = true;
  int64_t checked = 0, failed = 0;
  int64_t not_smooth = 0;  // failing elements set aside as kinks (kinks_fail = false only)
  double max_error = 0;  // worst |g - n| / (atol + rtol max(|g|,|n|)); ≤ 1 passes
  std::string worst;     // "weight[17]: analytic 0.12, numeric 0.34"
  // Per tensor checked, in probe order: the worst error of its elements as above, and the
  // worst relative error |g - n| / max(|g|, |n|, 1e-3 max|g| of the tensor) at each element's
  // best step (0 where all are 0).
  struct PerTensor {
    std::string name;
    double max_error = 0, max_relative = 0;
  };
  std::vector<PerTensor> tensors;
  std::string report() const;
  bool mostly_kinks() const { return not_smooth * 2 > checked; }  // then the check is no pass
};

// One tensor to perturb: the values θ (perturbed in place and restored) and dL/dθ.
struct GradProbe {
  std::string name;
  Tensor value;
  Tensor analytic;
};

// Checks each probe against the scalar function `loss` (which must recompute from the values).
GradCheckResult check_gradients(const std::function<double()>& loss, const std::vector<GradProbe>& probes,
                                const GradCheckOptions& opt = {});

// Checks dL/dx and dL/dθ of one layer on a random input of shape `in` (values U(-1, 1)), in the
// given pass mode. `input_fill` may replace the random input (to keep away from kinks).
GradCheckResult check_layer(Layer& layer, const Shape& in, const Pass& pass, const GradCheckOptions& opt = {},
                            const std::function<void(Tensor&)>& input_fill = nullptr);

// Checks dL/dθ of every parameter of a whole model, with the given loss and targets.
GradCheckResult check_model(Model& model, Loss& loss, const Tensor& x, const Targets& targets, const Pass& pass,
                            const GradCheckOptions& opt = {});

// Checks dL/d(output) of a loss.
GradCheckResult check_loss(Loss& loss, const Tensor& out, const Targets& targets, const GradCheckOptions& opt = {});

}  // namespace kiln
