#include "optim/schedule.h"

namespace kiln {

ScheduleKind constant_schedule() {
  return {"constant", "η throughout", false, [](const ScheduleConfig& c, double, double, double) { return c.lr; }};
}

}  // namespace kiln
