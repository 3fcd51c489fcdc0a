#include <cmath>

#include "optim/schedule.h"

namespace kiln {

// η decay^e with e = ⌊t / B⌋: one factor per epoch.
ScheduleKind exponential_schedule() {
  return {"exponential", "η decay^epoch", false,
          [](const ScheduleConfig& c, double t, double B, double) { return c.lr * std::pow(c.decay, std::floor(t / B)); }};
}

}  // namespace kiln
