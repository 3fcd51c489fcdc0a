#include "optim/schedule.h"

namespace kiln {

// PyTorch's OneCycleLR (cosine annealing): up from max_lr / div_factor to max_lr by step
// pct_start·T - 1, then down to max_lr / (div_factor · final_div_factor) at step T - 1.
ScheduleKind onecycle_schedule() {
  return {"onecycle", "PyTorch's OneCycleLR: up to max_lr over pct_start of the run, then down", true,
          [](const ScheduleConfig& c, double t, double, double T) {
            const auto [start, peak, end] = cycle_rates(c);
            const double up = c.pct_start * T - 1, last = T - 1;
            if (t <= up) return cosine_ramp(start, peak, up > 0 ? t / up : 1);
            return cosine_ramp(peak, end, last > up ? (t - up) / (last - up) : 1);
          }};
}

}  // namespace kiln
