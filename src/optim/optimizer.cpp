#include "optim/optimizer.h"

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
}

void Optimizer::step(Tensor& params, const Tensor& grads, const Tensor& decay_mask, double lr) {
  const math::UpdateRule r = rule(lr, steps_ + 1);
  const State s = state();
  auto kept = [&](size_t i) { return s[i] && s[i]->numel() > 0 ? s[i] : nullptr; };
  ops::optimizer_update(r, params, grads, decay_mask, kept(0), kept(1));
  ++steps_;
}

void Optimizer::to(Device device) {
  for (Tensor* t : state())
    if (t) *t = t->to(device);
}

std::vector<Tensor*> Optimizer::buffers() const {
  std::vector<Tensor*> out;
  for (Tensor* t : const_cast<Optimizer*>(this)->state())
    if (t) out.push_back(t);
  return out;
}

// Layout: str tag, i64 steps, u32 count, then the moment tensors.
void Optimizer::save_state(BinWriter& w) const {
  w.str(tag());
  w.pod(steps_);
  const auto bufs = buffers();
  w.pod(static_cast<uint32_t>(bufs.size()));
  for (const Tensor* t : bufs) w.tensor(*t);
}

void Optimizer::load_state(BinReader& r) {
  const std::string t = r.str(64);
  if (t != tag()) r.fail("optimizer state is for '" + t + "', this run uses '" + tag() + "'");
  steps_ = r.pod<int64_t>();
  if (steps_ < 0) r.fail("negative optimizer step count");
  const auto bufs = buffers();
  const auto n = r.pod<uint32_t>();
  if (n != bufs.size()) r.fail("optimizer state holds " + std::to_string(n) + " buffers, expected " + std::to_string(bufs.size()));
  for (size_t i = 0; i < bufs.size(); ++i) r.tensor_into(*bufs[i], tag() + " state " + std::to_string(i));
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, int64_t param_count) {
  OptimizerConfig checked = config;
  check_fields(checked);  // the name among them
  for (const auto& k : optimizer_kinds())
    if (k.name == config.name) return k.make(config, param_count);
  KILN_UNREACHABLE("optimizer '" << config.name << "' passed the check but is not in the table");
}

}  // namespace kiln
