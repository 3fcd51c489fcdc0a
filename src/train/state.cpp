#include "train/state.h"

namespace kiln {

bool TrainState::add_batch(double loss, double right, double n, double lr, int64_t batches_per_epoch,
                           int64_t log_every) {
  loss_sum += loss * n;
  correct += right;
  seen += n;
  window_loss += loss * n;
  window_correct += right;
  window_seen += n;
  ++window_batches;
  ++step;
  ++batch;
  if (window_batches >= log_every) {
    batches.push_back({step, static_cast<double>(epoch) + static_cast<double>(batch) / static_cast<double>(batches_per_epoch),
                       window_loss / window_seen, window_correct / window_seen, lr});
    window_loss = window_correct = window_seen = 0;
    window_batches = 0;
    return true;
  }
  return false;
}

void TrainState::next_epoch() {
  ++epoch;
  batch = 0;
  loss_sum = correct = seen = 0;
  epoch_seconds = 0;
}

}  // namespace kiln
