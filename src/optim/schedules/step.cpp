#include <cmath>

#include "optim/schedule.h"

namespace kiln {

// η γ^⌊e / step_epochs⌋ with e = ⌊t / B⌋.
ScheduleKind step_schedule() {
  return {"step", "η γ^⌊epoch / step_epochs⌋", false, [](const ScheduleConfig& c, double t, double B, double) {
            return c.lr * std::pow(c.gamma, std::floor(std::floor(t / B) / static_cast<double>(c.step_epochs)));
          }};
}

}  // namespace kiln
