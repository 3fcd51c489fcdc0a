#pragma once
// The training loop itself, without a run folder: epochs of steps over the training set, the
// running metrics, the evaluation at each epoch's end, and the two ways a run stops early (a
// non-finite loss, a request from outside: a signal, Ctrl-C in a notebook). It sees a model
// (forward, backward, flat parameters), a loss, an optimizer and a schedule, nothing of the
// layers inside. `kiln train` (trainer.cpp) drives it with a run folder around it; the Python
// module's fit() drives it from numpy arrays; both get the same steps, so the same weights.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/experiment.h"
#include "data/loader.h"
#include "loss/loss.h"
#include "model/model.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "train/setup.h"
#include "train/evaluate.h"
#include "train/state.h"
#include "train/step.h"

namespace kiln {

// What the loop reports as it goes, and how it can be asked to stop. Each may be empty.
struct LoopEvents {
  // After every batch: the state (epoch sums, step), batches per epoch, seconds into the epoch.
  std::function<void(const TrainState&, int64_t batches_per_epoch, double seconds)> batch;
  // Asked after every batch; true stops the epoch there (state saved by the caller).
  std::function<bool()> stop;
};

// Throws when train.sync_bn on `ranks` ranks would leave a rank an empty shard of some batch.
void check_sync_bn_shards(const Experiment& e, const Dataset& train, int ranks);

class TrainLoop {
 public:
  // The experiment gives the batch size, seed and logging interval; data, model, loss,
  // optimizer, schedule and state stay the caller's and must outlive the loop. With a
  // communicator of several ranks the loop is one replica of a data-parallel run: it reads its
  // shard of every global batch (train.batch_size), the step sums the gradients over the
  // ranks, a stop asked on any rank stops all of them at the same batch, and at each epoch's
  // end the ranks check that their weights are still the same bits.
  TrainLoop(const Experiment& e, const Data& data, Model& model, Loss& loss, Optimizer& optimizer,
            const Schedule& schedule, TrainState& state, Comm* comm = nullptr);
  ~TrainLoop();
  TrainLoop(const TrainLoop&) = delete;
  TrainLoop& operator=(const TrainLoop&) = delete;

  enum class Outcome { epoch_done, stopped, diverged };
  // Runs the current epoch from state.batch to its end (or to a stop).
  Outcome run_epoch(const LoopEvents& events);
  // After epoch_done: evaluates on the test set (and the validation split), appends the
  // epoch's row to state.epochs, and moves the state to the next epoch. Returns the row.
  const EpochRow& end_epoch();
  // The test-set evaluation of the last end_epoch(), with per-sample predictions (the report's).
  const Evaluation& last_test() const { return test_; }
  // Whether every parameter and buffer is finite: a step can leave non-finite weights behind
  // a finite loss (the loss is computed before the update), and such weights must not be
  // checkpointed as good.
  bool weights_finite() const;
  // What stopped a diverged epoch (a NaN or infinite loss), and where.
  const std::string& divergence() const { return divergence_; }

  // With a weight EMA (optimizer.ema), runs `f` with the averaged weights and the running
  // statistics averaged with them (batch norm's, Model::running_stats) in the model and puts
  // the trained ones back after it; without, runs `f` on the model as it is. Evaluation in
  // end_epoch() and the trainer's weights files go through it; checkpoints do not.
  void with_averaged_weights(const std::function<void()>& f);

  int64_t batches_per_epoch() const { return loader_.batches_per_epoch(); }
  double last_lr() const { return lr_; }
  TrainStep& step() { return step_; }

 private:
  void record_grad_norms();
  bool any_rank_stops(bool here);
  void check_replicas();
  void average_running_stats();
  Comm* comm_ = nullptr;
  void record_histograms();
  struct LayerGrads {
    std::string name;             // "3 conv 16 5x5 pad=2"
    std::vector<Tensor> grads;    // views into the flat gradient
    std::vector<Tensor> weights;  // its weights (not biases or scales), for the histograms
  };
  std::vector<LayerGrads> layers_;
  const Experiment& e_;
  const Data& data_;
  Model& model_;
  Loss& loss_;
  Optimizer& optimizer_;
  const Schedule& schedule_;
  TrainState& st_;
  Loader loader_;
  TrainStep step_;
  Batch batch_;
  double lr_ = 0, epoch_train_seconds_ = 0;
  std::string divergence_;
  Evaluation test_;
  bool previous_exact_ = false;  // the exact-weight-gradient setting before this loop
  Tensor trained_;               // the trained weights while the averaged ones are in the model
  Tensor trained_stats_;         // and the trained running statistics
};

}  // namespace kiln
