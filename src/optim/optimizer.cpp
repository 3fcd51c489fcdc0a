#include "optim/optimizer.h"

#include <cmath>
#include <sstream>

#include "backend/ops_optim.h"

namespace kiln {

namespace {

class Sgd : public Optimizer {
 public:
  Sgd(const OptimizerConfig& c, int64_t n) : c_(c), velocity_(Shape{c.momentum != 0 ? n : 0}) {}

  std::string describe() const override {
    std::ostringstream os;
    os << "sgd";
    if (c_.momentum != 0) os << " momentum=" << c_.momentum << " (" << c_.momentum_form << (c_.nesterov ? ", nesterov" : "") << ")";
    if (c_.weight_decay != 0) os << (c_.decoupled_decay ? " decoupled_weight_decay=" : " weight_decay=") << c_.weight_decay;
    return os.str();
  }

  void step(Tensor& params, const Tensor& grads, const Tensor& mask, double lr) override {
    SgdUpdate u;
    u.lr = static_cast<float>(lr);
    u.weight_decay = static_cast<float>(c_.weight_decay);
    u.decoupled = c_.decoupled_decay;
    u.momentum = static_cast<float>(c_.momentum);
    u.average = c_.momentum_form == "average";
    u.nesterov = c_.nesterov;
    // Without momentum the (empty) velocity is never read: hand the kernel the gradient's shape.
    Tensor& v = c_.momentum != 0 ? velocity_ : const_cast<Tensor&>(grads);
    ops::sgd_update(params, grads, mask, v, u);
    ++steps_;
  }

  void to(Device d) override { velocity_ = velocity_.to(d); }

 protected:
  std::string tag() const override { return "sgd"; }
  std::vector<Tensor*> state() override { return {&velocity_}; }

 private:
  OptimizerConfig c_;
  Tensor velocity_;
};

class Adam : public Optimizer {
 public:
  Adam(const OptimizerConfig& c, int64_t n) : c_(c), m_(Shape{n}), s_(Shape{n}) {}

  std::string describe() const override {
    std::ostringstream os;
    os << (c_.decoupled_decay ? "adamw" : "adam") << " beta1=" << c_.beta1 << " beta2=" << c_.beta2 << " eps=" << c_.eps;
    if (c_.weight_decay != 0) os << " weight_decay=" << c_.weight_decay;
    return os.str();
  }

  void step(Tensor& params, const Tensor& grads, const Tensor& mask, double lr) override {
    const double t = static_cast<double>(steps_ + 1);
    AdamUpdate u;
    u.lr = static_cast<float>(lr);
    u.weight_decay = static_cast<float>(c_.weight_decay);
    u.decoupled = c_.decoupled_decay;
    u.beta1 = static_cast<float>(c_.beta1);
    u.beta2 = static_cast<float>(c_.beta2);
    u.eps = static_cast<float>(c_.eps);
    u.bias1 = static_cast<float>(1 - std::pow(c_.beta1, t));
    u.bias2 = static_cast<float>(1 - std::pow(c_.beta2, t));
    ops::adam_update(params, grads, mask, m_, s_, u);
    ++steps_;
  }

  void to(Device d) override {
    m_ = m_.to(d);
    s_ = s_.to(d);
  }

 protected:
  std::string tag() const override { return "adam"; }
  std::vector<Tensor*> state() override { return {&m_, &s_}; }

 private:
  OptimizerConfig c_;
  Tensor m_, s_;
};

[[noreturn]] void bad(const std::string& key, const std::string& msg) { throw Error("optimizer." + key + ": " + msg); }

}  // namespace

// Layout: str tag, i64 steps, u32 count, then the moment tensors.
void Optimizer::save_state(BinWriter& w) const {
  w.str(tag());
  w.pod(steps_);
  auto bufs = const_cast<Optimizer*>(this)->state();
  w.pod(static_cast<uint32_t>(bufs.size()));
  for (const Tensor* t : bufs) w.tensor(*t);
}

void Optimizer::load_state(BinReader& r) {
  const std::string t = r.str(64);
  if (t != tag()) r.fail("optimizer state is for '" + t + "', this run uses '" + tag() + "'");
  steps_ = r.pod<int64_t>();
  if (steps_ < 0) r.fail("negative optimizer step count");
  auto bufs = state();
  const auto n = r.pod<uint32_t>();
  if (n != bufs.size()) r.fail("optimizer state holds " + std::to_string(n) + " buffers, expected " + std::to_string(bufs.size()));
  for (size_t i = 0; i < bufs.size(); ++i) r.tensor_into(*bufs[i], tag() + " state " + std::to_string(i));
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, int64_t param_count) {
  OptimizerConfig c = config;
  if (!(c.weight_decay >= 0)) bad("weight_decay", "must be ≥ 0");
  if (c.name == "sgd") {
    if (!(c.momentum >= 0 && c.momentum < 1)) bad("momentum", "must be in [0, 1)");
    if (c.momentum_form != "classic" && c.momentum_form != "average")
      bad("momentum_form", "'" + c.momentum_form + "': expected classic (v = μv + g) or average (v = μv + (1-μ)g)");
    if (c.nesterov && c.momentum == 0) bad("nesterov", "needs a momentum > 0");
    return std::make_unique<Sgd>(c, param_count);
  }
  if (c.name == "adam" || c.name == "adamw") {
    if (c.name == "adamw") c.decoupled_decay = true;
    if (!(c.beta1 >= 0 && c.beta1 < 1)) bad("beta1", "must be in [0, 1)");
    if (!(c.beta2 >= 0 && c.beta2 < 1)) bad("beta2", "must be in [0, 1)");
    if (!(c.eps > 0)) bad("eps", "must be > 0");
    return std::make_unique<Adam>(c, param_count);
  }
  bad("name", "unknown optimizer '" + c.name + "' (expected sgd, adam or adamw)");
}

}  // namespace kiln
