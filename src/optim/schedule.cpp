#include "optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tensor/check.h"

namespace kiln {

double Schedule::lr(int64_t step, int64_t batches_per_epoch) const {
  const double B = static_cast<double>(std::max<int64_t>(batches_per_epoch, 1));
  const double t = static_cast<double>(step), T = static_cast<double>(c_.total_epochs) * B;
  const double epoch = std::floor(t / B);
  auto cosine = [](double from, double to, double frac) {
    return to + (from - to) * (1 + std::cos(std::numbers::pi * std::clamp(frac, 0.0, 1.0))) / 2;
  };
  if (c_.name == "onecycle") {
    const double peak = c_.max_lr > 0 ? c_.max_lr : c_.lr, start = peak / c_.div_factor,
                 end = start / c_.final_div_factor;
    // PyTorch places the peak at step pct_start·T - 1 and the end at step T - 1.
    const double up = c_.pct_start * T - 1, last = T - 1;
    if (t <= up) return cosine(start, peak, up > 0 ? t / up : 1);
    return cosine(peak, end, last > up ? (t - up) / (last - up) : 1);
  }
  double lr = c_.lr;
  if (c_.name == "step") lr *= std::pow(c_.gamma, std::floor(epoch / static_cast<double>(c_.step_epochs)));
  else if (c_.name == "exponential") lr *= std::pow(c_.decay, epoch);
  else if (c_.name == "cosine") lr = cosine(c_.lr, c_.min_lr, T > 0 ? t / T : 1);
  const double W = c_.warmup_epochs * B;
  if (W > 0 && t < W) lr *= (t + 1) / W;
  return lr;
}

std::unique_ptr<Schedule> make_schedule(const ScheduleConfig& c) {
  auto bad = [](const std::string& key, const std::string& msg) { throw Error("schedule." + key + ": " + msg); };
  static const char* kNames[] = {"constant", "step", "exponential", "cosine", "onecycle", "warmup"};
  if (std::find(std::begin(kNames), std::end(kNames), c.name) == std::end(kNames))
    bad("name", "unknown schedule '" + c.name + "' (expected constant, step, exponential, cosine, onecycle or warmup)");
  if (!(c.lr > 0)) throw Error("optimizer.lr: the learning rate must be > 0");
  if (c.step_epochs < 1) bad("step_epochs", "must be ≥ 1");
  if (!(c.gamma > 0)) bad("gamma", "must be > 0");
  if (!(c.decay > 0)) bad("decay", "must be > 0");
  if (!(c.min_lr >= 0)) bad("min_lr", "must be ≥ 0");
  if (!(c.warmup_epochs >= 0)) bad("warmup_epochs", "must be ≥ 0");
  if (c.name == "warmup" && c.warmup_epochs == 0) bad("warmup_epochs", "the warmup schedule needs warmup_epochs > 0");
  if (!(c.max_lr >= 0)) bad("max_lr", "must be ≥ 0");
  if (!(c.pct_start > 0 && c.pct_start < 1)) bad("pct_start", "must be in (0, 1)");
  if (!(c.div_factor > 0)) bad("div_factor", "must be > 0");
  if (!(c.final_div_factor > 0)) bad("final_div_factor", "must be > 0");
  if (c.total_epochs < 1) throw Error("train.epochs: must be ≥ 1");
  return std::make_unique<Schedule>(c);
}

}  // namespace kiln
