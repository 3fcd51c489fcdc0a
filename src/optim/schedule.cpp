#include "optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tensor/check.h"

namespace kiln {

ScheduleKind constant_schedule();     // schedules/constant.cpp
ScheduleKind step_schedule();         // schedules/step.cpp
ScheduleKind exponential_schedule();  // schedules/exponential.cpp
ScheduleKind cosine_schedule();       // schedules/cosine.cpp
ScheduleKind onecycle_schedule();     // schedules/onecycle.cpp
ScheduleKind triangle_schedule();     // schedules/triangle.cpp
ScheduleKind warmup_schedule();       // schedules/warmup.cpp

const std::vector<ScheduleKind>& schedule_kinds() {
  static const std::vector<ScheduleKind> kinds{constant_schedule(), step_schedule(),     exponential_schedule(),
                                               cosine_schedule(),   onecycle_schedule(), triangle_schedule(),
                                               warmup_schedule()};
  return kinds;
}

void ScheduleConfig::fields(Fields& f) {
  f.section("optimizer");
  f.key("lr", lr, "the base learning rate η (the schedule scales it)", Bounds::positive());
  f.section("schedule");
  std::vector<std::string> names;
  for (const auto& k : schedule_kinds()) names.push_back(k.name);
  f.key("name", name, "the learning-rate schedule", names);
  f.key("step_epochs", step_epochs, "step: epochs between drops", Bounds::at_least(1));
  f.key("gamma", gamma, "step: the factor at each drop", Bounds::positive());
  f.key("decay", decay, "exponential: the factor per epoch", Bounds::positive());
  f.key("min_lr", min_lr, "cosine: the final rate", Bounds::at_least(0));
  f.key("warmup_epochs", warmup_epochs, "linear warm-up over this many epochs (fractions allowed)", Bounds::at_least(0));
  f.key("max_lr", max_lr, "onecycle, triangle: the peak (0: optimizer.lr)", Bounds::at_least(0));
  f.key("pct_start", pct_start, "onecycle, triangle: the share of the run spent rising", {0, 1, true, true});
  f.key("div_factor", div_factor, "onecycle, triangle: start at max_lr / div_factor", Bounds::positive());
  f.key("final_div_factor", final_div_factor, "onecycle, triangle: end at the start / final_div_factor", Bounds::positive());
}

CycleRates cycle_rates(const ScheduleConfig& c) {
  const double peak = c.max_lr > 0 ? c.max_lr : c.lr, start = peak / c.div_factor;
  return {start, peak, start / c.final_div_factor};
}

double cosine_ramp(double from, double to, double frac) {
  return to + (from - to) * (1 + std::cos(std::numbers::pi * std::clamp(frac, 0.0, 1.0))) / 2;
}

double Schedule::lr(int64_t step, int64_t batches_per_epoch) const {
  const double B = static_cast<double>(std::max<int64_t>(batches_per_epoch, 1));
  const double t = static_cast<double>(step), T = static_cast<double>(c_.total_epochs) * B;
  double lr = kind_.rate(c_, t, B, T);
  const double W = c_.warmup_epochs * B;
  if (!kind_.own_warmup && W > 0 && t < W) lr *= std::min(1.0, (t + 1) / W);  // W may be fractional
  return lr;
}

std::unique_ptr<Schedule> make_schedule(const ScheduleConfig& config) {
  ScheduleConfig c = config;
  check_fields(c);
  KILN_REQUIRE(c.total_epochs >= 1, "train.epochs: must be ≥ 1 (the schedule's length), got " << c.total_epochs);
  for (const auto& k : schedule_kinds())
    if (k.name == c.name) {
      if (k.check) k.check(c);
      return std::make_unique<Schedule>(c, k);
    }
  KILN_UNREACHABLE("schedule '" << c.name << "' passed the check but is not in the table");
}

}  // namespace kiln
