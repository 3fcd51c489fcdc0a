#include "optim/schedule.h"
#include "tensor/check.h"

namespace kiln {

// The linear warm-up of every schedule (Schedule::lr), then η.
ScheduleKind warmup_schedule() {
  return {"warmup", "linear warm-up over warmup_epochs, then η", false,
          [](const ScheduleConfig& c, double, double, double) { return c.lr; },
          [](const ScheduleConfig& c) {
            KILN_REQUIRE(c.warmup_epochs > 0, "schedule.warmup_epochs: the warmup schedule needs warmup_epochs > 0");
          }};
}

}  // namespace kiln
