// SGD with optional momentum (classic or average form), Nesterov and weight decay (coupled or
// decoupled): the math in optimizer.h, the per-element update in math/update_rules.h.
#include <sstream>

#include "optim/optimizer.h"

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

 protected:
  math::UpdateRule rule(double lr, int64_t) const override {
    math::SgdRule r;
    r.lr = static_cast<float>(lr);
    r.weight_decay = static_cast<float>(c_.weight_decay);
    r.decoupled = c_.decoupled_decay;
    r.momentum = static_cast<float>(c_.momentum);
    r.average = c_.momentum_form == "average";
    r.nesterov = c_.nesterov;
    return r;
  }
  std::string tag() const override { return "sgd"; }
  State state() override { return {&velocity_, nullptr}; }

 private:
  OptimizerConfig c_;
  Tensor velocity_;  // empty without momentum
};

}  // namespace

OptimizerKind sgd_kind() {
  return {"sgd", "sgd [momentum, momentum_form = classic | average, nesterov, weight_decay, decoupled_weight_decay]",
          [](const OptimizerConfig& c, int64_t n) -> std::unique_ptr<Optimizer> {
            if (c.nesterov && c.momentum == 0) throw Error("optimizer.nesterov: needs a momentum > 0");
            return std::make_unique<Sgd>(c, n);
          }};
}

}  // namespace kiln
