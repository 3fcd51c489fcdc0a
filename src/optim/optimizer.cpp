#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <variant>

#include "backend/ops.h"
#include "backend/ops_optim.h"

namespace kiln {

void OptimizerConfig::fields(Fields& f) {
  std::vector<std::string> names;
  for (const auto& k : optimizer_kinds()) names.push_back(k.name);
  f.section("optimizer");
  f.key("name", name, "the optimizer", names);
  f.key("momentum", momentum, "μ, sgd's momentum", Bounds::below(0, 1));
  f.key("momentum_form", momentum_form, "classic: v = μv + g (PyTorch); average: v = μv + (1-μ)g", {"classic", "average"});
  f.key("nesterov", nesterov, "Nesterov momentum (sgd, momentum > 0)");
  f.key("weight_decay", weight_decay, "λ, on weights only (not biases or batch-norm parameters)", Bounds::at_least(0));
  f.key("decoupled_weight_decay", decoupled_decay, "θ -= ηλθ instead of g += λθ (always on for adamw)");
  f.key("beta1", beta1, "Adam's β1", Bounds::below(0, 1));
  f.key("beta2", beta2, "Adam's β2", Bounds::below(0, 1));
  f.key("eps", eps, "Adam's ε", Bounds::positive());
  f.key("bn_lr_scale", bn_lr_scale, "learning rate of normalisation shifts (batch-norm β) relative to lr",
        Bounds::positive());
  f.key("ema", ema,
        "β of an exponential moving average of the weights, and of batch norm's running statistics with them, used "
        "for evaluation and the saved weights (0: off)",
        Bounds::below(0, 1));
  f.key("bn_weight_decay", bn_weight_decay, "weight decay of normalisation shifts (batch-norm β)",
        Bounds::at_least(0));
}

void Optimizer::step(Tensor& params, const Tensor& grads, const Tensor& decay_mask, double lr, const Tensor* stats) {
  const State s = state();
  auto kept = [&](size_t i) { return s[i] && s[i]->numel() > 0 ? s[i] : nullptr; };
  if (!per_group()) {
    ops::optimizer_update(rule(lr, steps_ + 1), params, grads, decay_mask, kept(0), kept(1));
    ++steps_;
    update_ema(params, stats);
    return;
  }
  int64_t largest_norm = 0;
  for (const ParamSpan& sp : spans_)
    if (sp.norm) largest_norm = std::max(largest_norm, sp.size);
  if (norm_decay_ > 0 && (ones_.numel() < largest_norm || ones_.device() != params.device())) {
    ones_ = Tensor({largest_norm}, params.device());
    ones_.fill(Real(1));
  }
  for (const ParamSpan& sp : spans_) {
    KILN_CHECK(sp.begin >= 0 && sp.size > 0 && sp.begin + sp.size <= params.numel(), "parameter span out of range");
    math::UpdateRule r = rule(sp.norm ? lr * norm_lr_scale_ : lr, steps_ + 1);
    if (sp.norm) std::visit([&](auto& rr) { rr.weight_decay = static_cast<float>(norm_decay_); }, r);
    const Shape shape{sp.size};
    Tensor p = params.slice(sp.begin, shape);
    const Tensor g = grads.slice(sp.begin, shape);
    const Tensor mask = sp.norm && norm_decay_ > 0 ? ones_.slice(0, shape) : decay_mask.slice(sp.begin, shape);
    Tensor m0, m1;
    if (Tensor* t = kept(0)) m0 = t->slice(sp.begin, shape);
    if (Tensor* t = kept(1)) m1 = t->slice(sp.begin, shape);
    ops::optimizer_update(r, p, g, mask, kept(0) ? &m0 : nullptr, kept(1) ? &m1 : nullptr);
  }
  ++steps_;
  update_ema(params, stats);
}

void Optimizer::set_ema(double decay, int64_t param_count, int64_t stats_count) {
  KILN_REQUIRE(decay >= 0 && decay < 1, "optimizer.ema must be in [0, 1), not " << decay);
  KILN_CHECK(stats_count >= 0, "negative count of running statistics");
  ema_decay_ = decay;
  ema_ = decay > 0 ? Tensor({param_count}) : Tensor();
  ema_stats_ = decay > 0 && stats_count > 0 ? Tensor({stats_count}) : Tensor();
}

// e ← β e + (1 - β) θ, and f ← β f + (1 - β) s alike (optimizer.h).
void Optimizer::update_ema(const Tensor& params, const Tensor* stats) {
  if (!has_ema()) return;
  auto average = [&](Tensor& e, const Tensor& x) {
    if (e.device() != x.device()) e = e.to(x.device());
    ops::scale(e, static_cast<Real>(ema_decay_));
    ops::axpy(static_cast<Real>(1 - ema_decay_), x, e);
  };
  average(ema_, params);
  const int64_t kept = ema_stats_.numel(), given = stats ? stats->numel() : 0;
  KILN_CHECK(kept == given, "the weight EMA keeps " << kept << " running statistics, the step passed " << given);
  if (kept > 0) average(ema_stats_, *stats);
}

bool Optimizer::averaged_into(Tensor& out, Tensor* stats) const {
  if (!has_ema() || steps_ == 0) return false;
  const auto correction = static_cast<Real>(1 / (1 - std::pow(ema_decay_, static_cast<double>(steps_))));
  out.copy_from(ema_);
  ops::scale(out, correction);
  if (stats && stats->numel() > 0) {
    KILN_CHECK(stats->numel() == ema_stats_.numel(),
               "the weight EMA keeps " << ema_stats_.numel() << " running statistics, asked for " << stats->numel());
    stats->copy_from(ema_stats_);
    ops::scale(*stats, correction);
  }
  return true;
}

void Optimizer::to(Device device) {
  for (Tensor* t : state())
    if (t) *t = t->to(device);
  if (has_ema()) ema_ = ema_.to(device);
  if (ema_stats_.numel() > 0) ema_stats_ = ema_stats_.to(device);
}

std::vector<Tensor*> Optimizer::buffers() const {
  std::vector<Tensor*> out;
  for (Tensor* t : const_cast<Optimizer*>(this)->state())
    if (t) out.push_back(t);
  if (has_ema()) out.push_back(const_cast<Tensor*>(&ema_));
  if (ema_stats_.numel() > 0) out.push_back(const_cast<Tensor*>(&ema_stats_));
  return out;
}

// Layout: str tag, i64 steps, u32 count, then the moment tensors, the weight EMA e and the
// running statistics' f (the last two only with an EMA; f only where the model has running
// statistics, and absent from states saved before they were averaged: load_state()).
void Optimizer::save_state(BinWriter& w) const {
  w.str(tag());
  w.pod(steps_);
  const auto bufs = buffers();
  w.pod(static_cast<uint32_t>(bufs.size()));
  for (const Tensor* t : bufs) w.tensor(*t);
}

void Optimizer::load_state(BinReader& r, const Tensor* stats) {
  const std::string t = r.str(64);
  if (t != tag()) r.fail("optimizer state is for '" + t + "', this run uses '" + tag() + "'");
  steps_ = r.pod<int64_t>();
  if (steps_ < 0) r.fail("negative optimizer step count");
  auto bufs = buffers();
  const auto n = r.pod<uint32_t>();
  // Saved before the running statistics were averaged: everything but f, which comes last.
  const bool without_f = ema_stats_.numel() > 0 && stats && n + 1 == bufs.size();
  if (without_f) bufs.pop_back();
  if (n != bufs.size()) r.fail("optimizer state holds " + std::to_string(n) + " buffers, expected " + std::to_string(bufs.size()));
  for (size_t i = 0; i < bufs.size(); ++i) r.tensor_into(*bufs[i], tag() + " state " + std::to_string(i));
  if (without_f) {
    KILN_CHECK(stats->numel() == ema_stats_.numel(), "running statistics: " << stats->numel() << ", the EMA keeps " << ema_stats_.numel());
    ema_stats_ = ema_stats_.to(stats->device());
    ema_stats_.copy_from(*stats);
    ops::scale(ema_stats_, static_cast<Real>(1 - std::pow(ema_decay_, static_cast<double>(steps_))));
  }
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, int64_t param_count, int64_t stats_count) {
  OptimizerConfig checked = config;
  check_fields(checked);  // the name among them
  for (const auto& k : optimizer_kinds())
    if (k.name == config.name) {
      std::unique_ptr<Optimizer> o = k.make(config, param_count);
      o->set_norm_group(config.bn_lr_scale, config.bn_weight_decay);
      o->set_ema(config.ema, param_count, stats_count);
      return o;
    }
  KILN_UNREACHABLE("optimizer '" << config.name << "' passed the check but is not in the table");
}

}  // namespace kiln
