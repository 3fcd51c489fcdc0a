#include <cmath>

#include "optim/schedule.h"

namespace kiln {

// airbench's triangle: straight lines through (0, start), (P, peak) and (T, end) with
// P = ⌊pct_start·T⌋, start = peak / div_factor, end = start / final_div_factor (the onecycle
// keys, the same meaning). The run's last step is T - 1, so `end` itself is never used, as in
// airbench94 (lr_schedule[step] for step < total_train_steps).
ScheduleKind triangle_schedule() {
  return {"triangle", "airbench's linear rise and fall: up to max_lr at step ⌊pct_start·T⌋, then down", true,
          [](const ScheduleConfig& c, double t, double, double T) {
            const auto [start, peak, end] = cycle_rates(c);
            const double P = std::floor(c.pct_start * T);
            if (t < P) return start + (peak - start) * t / P;
            return T > P ? peak + (end - peak) * (t - P) / (T - P) : peak;
          }};
}

}  // namespace kiln
