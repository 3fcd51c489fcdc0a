// The optimizers of experiment files, one line each; each is defined in its own file.
#include "optim/optimizer.h"

namespace kiln {

OptimizerKind sgd_kind();    // sgd.cpp
OptimizerKind adam_kind();   // adam.cpp
OptimizerKind adamw_kind();  // adam.cpp

const std::vector<OptimizerKind>& optimizer_kinds() {
  static const std::vector<OptimizerKind> kinds{sgd_kind(), adam_kind(), adamw_kind()};
  return kinds;
}

}  // namespace kiln
