// Adam and AdamW (Adam with decoupled weight decay): the math in optimizer.h, the per-element
// update in math/update_rules.h.
#include <cmath>
#include <sstream>

#include "optim/optimizer.h"

namespace kiln {

namespace {

class Adam : public Optimizer {
 public:
  Adam(const OptimizerConfig& c, int64_t n) : c_(c), m_(Shape{n}), s_(Shape{n}) {}

  bool scale_free() const override { return true; }
  std::string describe() const override {
    std::ostringstream os;
    os << (c_.decoupled_decay ? "adamw" : "adam") << " beta1=" << c_.beta1 << " beta2=" << c_.beta2 << " eps=" << c_.eps;
    if (c_.weight_decay != 0) os << " weight_decay=" << c_.weight_decay;
    return os.str();
  }

 protected:
  math::UpdateRule rule(double lr, int64_t t) const override {
    math::AdamRule r;
    r.lr = static_cast<float>(lr);
    r.weight_decay = static_cast<float>(c_.weight_decay);
    r.decoupled = c_.decoupled_decay;
    r.beta1 = static_cast<float>(c_.beta1);
    r.beta2 = static_cast<float>(c_.beta2);
    r.eps = static_cast<float>(c_.eps);
    r.bias1 = static_cast<float>(1 - std::pow(c_.beta1, static_cast<double>(t)));
    r.bias2 = static_cast<float>(1 - std::pow(c_.beta2, static_cast<double>(t)));
    return r;
  }
  std::string tag() const override { return "adam"; }
  State state() override { return {&m_, &s_}; }

 private:
  OptimizerConfig c_;
  Tensor m_, s_;
};

}  // namespace

OptimizerKind adam_kind() {
  return {"adam", "adam [beta1, beta2, eps, weight_decay (coupled), decoupled_weight_decay]",
          [](const OptimizerConfig& c, int64_t n) -> std::unique_ptr<Optimizer> { return std::make_unique<Adam>(c, n); }};
}

OptimizerKind adamw_kind() {
  return {"adamw", "adamw [beta1, beta2, eps, weight_decay (decoupled)]",
          [](const OptimizerConfig& c, int64_t n) -> std::unique_ptr<Optimizer> {
            OptimizerConfig w = c;
            w.decoupled_decay = true;
            return std::make_unique<Adam>(w, n);
          }};
}

}  // namespace kiln
