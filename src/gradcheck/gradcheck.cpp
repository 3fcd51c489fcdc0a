#include "gradcheck/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

namespace kiln {

std::string GradCheckResult::report() const {
  std::ostringstream os;
  os << (ok ? "PASS" : "FAIL") << ": " << checked << " elements checked, " << failed << " failed";
  if (not_smooth > 0)
    os << ", " << not_smooth << " set aside as not smooth within any step (kinks)"
       << (mostly_kinks() ? ": too many to conclude" : "");
  os << ", worst error " << max_error << " of tolerance";
  if (!worst.empty()) os << " (" << worst << ")";
  return os.str();
}

static std::vector<int64_t> sample_indices(int64_t n, int64_t max, uint64_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  if (n <= max) return idx;
  Rng rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(idx[static_cast<size_t>(i)], idx[rng.below(static_cast<uint64_t>(i) + 1)]);
  idx.resize(static_cast<size_t>(max));
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Elements whose gradient is this small against the tensor's largest are measured against that
// fraction of it: their own relative error is round-off, not a statement about the backward pass.
constexpr double kRelativeFloor = 1e-3;

GradCheckResult check_gradients(const std::function<double()>& loss, const std::vector<GradProbe>& probes,
                                const GradCheckOptions& opt) {
  GradCheckResult res;
  for (const auto& probe : probes) {
    Tensor v = probe.value;
    check_same_shape(v, probe.analytic, ("gradient check of " + probe.name).c_str());
    GradCheckResult::PerTensor& mine = res.tensors.emplace_back(GradCheckResult::PerTensor{probe.name, 0, 0});
    double largest = 0;  // of the tensor's analytic gradient: the scale of its relative errors
    for (int64_t i = 0; i < probe.analytic.numel(); ++i) largest = std::max(largest, std::abs(static_cast<double>(probe.analytic[i])));
    for (int64_t i : sample_indices(v.numel(), opt.max_elements, opt.seed)) {
      const Real orig = v[i];
      const double g = probe.analytic[i];
      double best = INFINITY, best_num = 0, previous = NAN;
      bool smooth = false;  // two adjacent steps give quotients that agree
      for (double h : opt.steps) {
        v[i] = static_cast<Real>(orig + h);
        const double lp = loss();
        v[i] = static_cast<Real>(orig - h);
        const double lm = loss();
        v[i] = orig;
        // The step actually taken, after rounding to Real.
        const double step = static_cast<double>(static_cast<Real>(orig + h)) - static_cast<Real>(orig - h);
        const double num = (lp - lm) / step;
        const double err = std::abs(g - num) / (opt.atol + opt.rtol * std::max(std::abs(g), std::abs(num)));
        if (err < best) {
          best = err;
          best_num = num;
        }
        if (std::abs(num - previous) <= opt.atol + opt.rtol * std::max(std::abs(num), std::abs(previous))) smooth = true;
        previous = num;
      }
      ++res.checked;
      const double scale = std::max({std::abs(g), std::abs(best_num), kRelativeFloor * largest});
      mine.max_error = std::max(mine.max_error, best);
      mine.max_relative = std::max(mine.max_relative, scale > 0 ? std::abs(g - best_num) / scale : 0.0);
      if (best > 1 && !smooth && !opt.kinks_fail) {
        ++res.not_smooth;
        continue;
      }
      if (best > 1) {
        ++res.failed;
        res.ok = false;
      }
      if (best > res.max_error) {
        res.max_error = best;
        std::ostringstream os;
        os << probe.name << "[" << i << "]: analytic " << g << ", numeric " << best_num;
        res.worst = os.str();
      }
    }
  }
  if (res.mostly_kinks()) res.ok = false;  // the check says nothing either way
  return res;
}

static void fill_uniform(Tensor& t, Rng& rng, double lo, double hi) {
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<Real>(rng.uniform(lo, hi));
}

GradCheckResult check_layer(Layer& layer, const Shape& in, const Pass& pass, const GradCheckOptions& opt,
                            const std::function<void(Tensor&)>& input_fill) {
  Rng rng(opt.seed);
  Tensor x(in);
  if (input_fill)
    input_fill(x);
  else
    fill_uniform(x, rng, -1, 1);
  const Shape out = layer.output_shape(in);
  Tensor r(out), y(out), dx(in);
  fill_uniform(r, rng, -1, 1);

  auto loss = [&] {
    layer.forward(x, y, pass);
    double s = 0;
    for (int64_t i = 0; i < y.numel(); ++i) s += static_cast<double>(r[i]) * y[i];
    return s;
  };

  auto params = layer.params();
  for (auto& p : params) p.grad->zero();
  loss();
  layer.backward(x, y, r, &dx);

  std::vector<GradProbe> probes{{"input", x, dx.clone()}};
  for (auto& p : params) probes.push_back({p.name, *p.value, p.grad->clone()});
  return check_gradients(loss, probes, opt);
}

GradCheckResult check_model(Model& model, Loss& loss, const Tensor& x_in, const Targets& targets, const Pass& pass,
                            const GradCheckOptions& opt) {
  Tensor x = x_in.clone();
  auto f = [&] {
    const Tensor& out = model.forward(x, pass);
    return loss.forward_backward(out, targets, nullptr);
  };
  model.zero_grad();
  const Tensor& out = model.forward(x, pass);
  Tensor dout(out.shape());
  loss.forward_backward(out, targets, &dout);
  model.backward(dout);
  std::vector<GradProbe> probes;
  for (auto& p : model.named_params()) probes.push_back({p.name, p.value, p.grad.clone()});
  return check_gradients(f, probes, opt);
}

GradCheckResult check_loss(Loss& loss, const Tensor& out_in, const Targets& targets, const GradCheckOptions& opt) {
  Tensor out = out_in.clone();
  Tensor dout(out.shape());
  loss.forward_backward(out, targets, &dout);
  return check_gradients([&] { return loss.forward_backward(out, targets, nullptr); }, {{"output", out, dout}}, opt);
}

}  // namespace kiln
