#pragma once
// Checkpoints: everything needed to continue a run bit-exactly — weights and batch-norm
// statistics, optimizer moments, the position in the data (epoch, batch within it), the step
// counter (which keys the dropout masks) and the partial-epoch metric sums. Data order and
// augmentation are pure functions of (seed, epoch, position), so they need no saved state.
// Written atomically (temporary file + rename) with a CRC-32: a kill at any moment leaves
// the previous checkpoint intact.
#include <string>
#include <vector>

#include "model/model.h"
#include "optim/optimizer.h"
#include "report/report.h"

namespace kiln {

struct TrainState {
  int64_t epoch = 0;  // current epoch, 0-based
  int64_t batch = 0;  // batches done within it
  int64_t step = 0;   // optimizer steps since the start
  // Sums over the batches of the current epoch so far (train loss and accuracy).
  double loss_sum = 0, correct = 0, seen = 0;
  // Sums since the last point of the per-batch curve.
  double window_loss = 0, window_correct = 0, window_seen = 0;
  int64_t window_batches = 0;
  double epoch_seconds = 0;  // time spent in the current epoch before an interruption
  std::vector<EpochRow> epochs;
  std::vector<BatchRow> batches;
};

void save_checkpoint(const std::string& path, const Model& model, const Optimizer& opt, const TrainState& state);
void load_checkpoint(const std::string& path, Model& model, Optimizer& opt, TrainState& state);

}  // namespace kiln
