#pragma once
// Where a run is: the position in the data (epoch, batch within it), the step counter (which
// keys the dropout masks), the partial-epoch metric sums and the rows of the curves. A
// checkpoint saves exactly this beside the weights and the optimizer (checkpoint.h); data
// order and augmentation are pure functions of (seed, epoch, position), so they need no state.
#include <cstdint>
#include <vector>

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
  std::vector<std::string> grad_norm_layers;  // a name per layer with parameters
  std::vector<GradNormRow> grad_norms;        // at each point of the per-batch curves
  std::vector<WeightHistogram> histograms;    // every epoch, each layer's weights
  // The best validation accuracy so far and the epochs since it (early stopping).
  double best_val_acc = -1;
  int64_t epochs_since_best = 0;

  // Counts one batch of n samples with its mean loss and correct predictions; every
  // `log_every` batches the window becomes a point of the per-batch curves (and true is
  // returned: the caller adds that point's gradient norms).
  bool add_batch(double loss, double correct, double n, double lr, int64_t batches_per_epoch, int64_t log_every);
  // The epoch's running means.
  double train_loss() const { return loss_sum / seen; }
  double train_acc() const { return correct / seen; }
  // Moves to the start of the next epoch.
  void next_epoch();
};

}  // namespace kiln
