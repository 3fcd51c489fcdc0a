#include "optim/schedule.h"

namespace kiln {

// η_min + (η - η_min) (1 + cos(π t / T)) / 2, per step.
ScheduleKind cosine_schedule() {
  return {"cosine", "from η down to min_lr along a half cosine, per step", false,
          [](const ScheduleConfig& c, double t, double, double T) { return cosine_ramp(c.lr, c.min_lr, T > 0 ? t / T : 1); }};
}

}  // namespace kiln
