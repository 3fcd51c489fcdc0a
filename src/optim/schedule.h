#pragma once
// Learning-rate schedules: the rate at optimizer step t (0-based) as a pure function of t and
// the number of batches per epoch B, so a resumed run needs no schedule state. e = ⌊t / B⌋ is
// the epoch, T = total_epochs · B the number of steps of the run, η the base rate.
//   constant      η
//   step          η γ^⌊e / step_epochs⌋
//   exponential   η decay^e                      (per epoch, e.g. 0.88)
//   cosine        η_min + (η - η_min) (1 + cos(π t / T)) / 2        (per step)
//   onecycle      PyTorch's OneCycleLR with cosine annealing: from max_lr / div_factor up to
//                 max_lr over the first pct_start·T steps, then down to
//                 max_lr / (div_factor · final_div_factor) at T. max_lr = 0 means η.
//   triangle      airbench's: the same three rates as onecycle, joined by straight lines: up
//                 from max_lr / div_factor at step 0 to max_lr at step ⌊pct_start·T⌋, down
//                 towards max_lr / (div_factor · final_div_factor), reached at T.
//   warmup        linear warm-up (below), then constant
// Linear warm-up over the first W = warmup_epochs · B steps multiplies any schedule but
// onecycle and triangle (which rise by themselves) by min(1, (t + 1) / W).
//
// Each schedule is a file of schedules/ (its rate function), listed in one table (schedule.cpp).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/fields.h"

namespace kiln {

struct ScheduleConfig {
  std::string name = "constant";  // a kind of the table
  double lr = 0.01;               // η, the base learning rate: the key [optimizer] lr
  int64_t step_epochs = 10;       // step: epochs between drops
  double gamma = 0.1;             // step: factor at each drop
  double decay = 0.88;            // exponential: factor per epoch
  double min_lr = 0;              // cosine: the floor η_min
  double warmup_epochs = 0;       // linear warm-up length (fractional epochs allowed)
  double max_lr = 0;              // onecycle, triangle: peak (0: η)
  double pct_start = 0.3;         // onecycle, triangle: share of the run spent rising
  double div_factor = 25;         // onecycle, triangle: start at max_lr / div_factor
  double final_div_factor = 1e4;  // onecycle, triangle: end at start / final_div_factor
  int64_t total_epochs = 1;       // the run's length: not a key, set from [train] epochs
  void fields(Fields& f);         // the [schedule] keys, and [optimizer] lr
};

// A kind of schedule: the rate before warm-up at step t of T, B steps an epoch.
struct ScheduleKind {
  std::string name;
  std::string help;
  bool own_warmup = false;  // the general warm-up does not apply (onecycle rises by itself)
  double (*rate)(const ScheduleConfig& c, double t, double B, double T);
  void (*check)(const ScheduleConfig& c) = nullptr;  // settings only this kind needs
};

const std::vector<ScheduleKind>& schedule_kinds();

class Schedule {
 public:
  Schedule(const ScheduleConfig& c, const ScheduleKind& kind) : c_(c), kind_(kind) {}
  double lr(int64_t step, int64_t batches_per_epoch) const;
  const ScheduleConfig& config() const { return c_; }

 private:
  ScheduleConfig c_;
  const ScheduleKind& kind_;
};

// Validates (throws kiln::Error naming the key) and builds the schedule.
std::unique_ptr<Schedule> make_schedule(const ScheduleConfig& config);

// onecycle's and triangle's three rates: start = peak / div_factor, the peak (max_lr, or η
// where it is 0), end = start / final_div_factor.
struct CycleRates {
  double start, peak, end;
};
CycleRates cycle_rates(const ScheduleConfig& c);

// The cosine ramp from `from` (frac 0) to `to` (frac 1), frac clamped to [0, 1].
double cosine_ramp(double from, double to, double frac);

}  // namespace kiln
