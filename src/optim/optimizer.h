#pragma once
// Optimizers: one update of the model's flat parameter buffer from its flat gradient buffer
// (STYLE.md #8: parameters, gradients and moments share one layout, so an update is one loop,
// and a checkpoint one write). Each optimizer sets the scalars of a step (a rule of
// backend/math/update_rules.h) and every backend runs that rule's per-element body.
//
// With g the gradient, θ the parameters, η the learning rate, λ the weight decay and m_i = 1
// where decay applies to θ_i (weights; not biases or batch-norm scales):
//   coupled (L2) decay:   g ← g + λ m θ                        (before everything below)
//   decoupled decay:      θ ← θ - η λ m θ                      (SGDW / AdamW; g unchanged)
//   SGD:                  θ ← θ - η g
//   momentum, classic:    v ← μ v + g,             d = v       (PyTorch's SGD)
//   momentum, average:    v ← μ v + (1 - μ) g,     d = v       (the FMAN45 form; η is not
//                                                               rescaled by 1/(1-μ))
//   Nesterov:             d = g + μ v  (classic),  d = (1 - μ) g + μ v  (average), with the new v
//                         then θ ← θ - η d
//   Adam:                 m ← β1 m + (1 - β1) g,   s ← β2 s + (1 - β2) g²
//                         θ ← θ - η m̂ / (√ŝ + ε),  m̂ = m / (1 - β1ᵗ), ŝ = s / (1 - β2ᵗ)
//   AdamW:                Adam with decoupled decay.
//
// Normalisation shifts (batch-norm β, tagged Param::norm by their layer) may form a group of
// their own, as airbench sets them (its "BN biases at 64x"): η_norm = bn_lr_scale · η
// and λ_norm = bn_weight_decay (0 by default: no decay, as before). Scaling η at the end of
// the update is PyTorch's per-group lr: the velocity accumulates the same g either way.
//
// Weight EMA (ema = β > 0): after every step e ← β e + (1 - β) θ with e starting at 0, and the
// averaged weights are ê = e / (1 - βᵗ), Adam's bias correction: the weighted mean of θ_1..θ_t
// with weights ∝ βᵗ⁻ᵏ, needing no copy of the initial weights. e is saved with the moments.
// Evaluation during training and the saved weights files use ê (train/loop.h); checkpoints
// keep θ, so a resumed run continues the same trajectory.
//
// The model's running statistics s (batch-norm means and variances: Model::running_stats, a
// flat buffer the optimizer knows nothing more about) are averaged the same way, with the same
// β and bias correction: f ← β f + (1 - β) s_t after step t, ŝ = f / (1 - βᵗ). The statistics
// the training forward passes gathered belong to the weights they ran with; the averaged
// weights are evaluated with ŝ, never with the trained model's s_t, which do not match them
// (issue #13: 13.6% on MNIST after an epoch at β = 0.999, where the trained weights gave
// 86.4%). Why averaging, not recomputing them for ê by passes over training batches (PyTorch's
// swa_utils.update_bn): it costs one add per statistic per step instead of a pass over data the
// optimizer does not have, it is deterministic, and it rides in the checkpoint with e, so a
// resumed run's weights files are the same bytes. It is PyTorch's AveragedModel with
// use_buffers=True, and what airbench's lookahead does to the whole model state.
//
// The optimizers are listed in one table (registry.cpp); each lives in a file of its own
// (sgd.cpp, adam.cpp).
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/math/update_rules.h"
#include "config/fields.h"
#include "tensor/binio.h"
#include "tensor/tensor.h"

namespace kiln {

struct OptimizerConfig {
  std::string name = "sgd";               // a kind of the table: sgd | adam | adamw
  double momentum = 0;                    // μ (sgd)
  std::string momentum_form = "classic";  // classic (v = μv + g) | average (v = μv + (1-μ)g)
  bool nesterov = false;
  double weight_decay = 0;                // λ
  bool decoupled_decay = false;           // true for adamw whatever is set here
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double bn_lr_scale = 1;                 // η of normalisation shifts (batch-norm β), relative to η
  double bn_weight_decay = 0;             // λ of normalisation shifts
  double ema = 0;                         // β of the weight EMA (0: off)
  void fields(Fields& f);  // the [optimizer] keys
};

// A run of the flat parameters with one group's settings: normalisation shifts (norm) or the
// rest. The training step hands the optimizer the runs of its model (TrainStep).
struct ParamSpan {
  int64_t begin = 0, size = 0;
  bool norm = false;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string describe() const = 0;  // "sgd momentum=0.9 (classic) weight_decay=0.0005"
  // One update at learning rate lr. decay_mask holds 1 where weight decay applies and 0
  // elsewhere (same layout). stats: the model's running statistics after this step's forward
  // pass, for the weight EMA to average (their count given to set_ema); null where it keeps
  // none.
  // With set_param_spans() and bn_lr_scale / bn_weight_decay other than 1 and 0, each span is
  // updated with its group's settings (one update per span); else one update over everything.
  void step(Tensor& params, const Tensor& grads, const Tensor& decay_mask, double lr, const Tensor* stats = nullptr);
  void set_param_spans(std::vector<ParamSpan> spans) { spans_ = std::move(spans); }
  void set_norm_group(double lr_scale, double weight_decay) { norm_lr_scale_ = lr_scale, norm_decay_ = weight_decay; }
  // Keeps the weight EMA of `param_count` parameters and `stats_count` running statistics at
  // decay β (0: none).
  void set_ema(double decay, int64_t param_count, int64_t stats_count = 0);
  bool has_ema() const { return ema_decay_ > 0; }
  // The averaged weights ê into `out` (the parameters' layout and device) and, given `stats`,
  // the averaged statistics ŝ into it (the running statistics' layout); false, and both
  // untouched, without an EMA or before the first step.
  bool averaged_into(Tensor& out, Tensor* stats = nullptr) const;
  // f, the running statistics' average before its bias correction (null without one), for a
  // data-parallel run to make equal on every rank.
  Tensor* averaged_stats() { return ema_stats_.numel() > 0 ? &ema_stats_ : nullptr; }

  int64_t steps() const { return steps_; }
  // The state a resumed run needs (step count and moment buffers), tagged with the optimizer's
  // name so that loading into another optimizer is an error.
  // stats: the model's running statistics as loaded with it. A state saved before they were
  // averaged (issue #13) ends with e and lacks f: f then starts as if every step had seen
  // these statistics (f = (1 - βᵗ) s, so ŝ = s, what such a run was evaluated with).
  void save_state(BinWriter& w) const;
  void load_state(BinReader& r, const Tensor* stats = nullptr);
  // Moves the moment buffers to a device (they follow the parameters).
  void to(Device device);
  // Whether the step divides by the gradient's own running scale (Adam's √v): then an entry
  // whose gradient should be exactly 0 but is 1e-9 moves as far as one whose gradient is 1.
  virtual bool scale_free() const { return false; }

 protected:
  // The scalars of step t (1-based) at rate lr.
  virtual math::UpdateRule rule(double lr, int64_t t) const = 0;
  virtual std::string tag() const = 0;
  // The moment buffers, s0 then s1 of the rule: null where the rule has none, an empty
  // tensor where this configuration keeps none (SGD without momentum). A fixed array, as a
  // training step must not allocate.
  using State = std::array<Tensor*, 2>;
  virtual State state() = 0;
  int64_t steps_ = 0;

 private:
  bool per_group() const { return !spans_.empty() && (norm_lr_scale_ != 1 || norm_decay_ != 0); }
  std::vector<ParamSpan> spans_;
  double norm_lr_scale_ = 1, norm_decay_ = 0;
  Tensor ones_;  // the decay mask of normalisation spans when bn_weight_decay > 0
  double ema_decay_ = 0;
  Tensor ema_;        // e, the parameters' layout
  Tensor ema_stats_;  // f, the running statistics' layout (0 elements: none)
  void update_ema(const Tensor& params, const Tensor* stats);
  // The non-null entries of state(), then e and f, as checkpoints hold them.
  std::vector<Tensor*> buffers() const;
};

// A kind of optimizer: its name in experiment files and how to build it (which validates the
// configuration, throwing kiln::Error that names the key).
struct OptimizerKind {
  std::string name;
  std::string help;  // one line, for errors and --help
  std::unique_ptr<Optimizer> (*make)(const OptimizerConfig& config, int64_t param_count);
};

const std::vector<OptimizerKind>& optimizer_kinds();

// Builds the optimizer `config.name` for `param_count` parameters; a weight EMA also averages
// `stats_count` running statistics (Model::running_stats().numel(); 0 for an optimizer used
// without a model).
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, int64_t param_count, int64_t stats_count = 0);

}  // namespace kiln
