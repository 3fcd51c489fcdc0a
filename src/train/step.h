#pragma once
// One training step on a batch: forward in training mode, loss and its gradient, backward,
// optimizer update. The trainer's only view of the model while it trains.
//
// The update is applied even when the loss is not finite: the trainer then stops without
// saving, so the last good checkpoint is what remains.
//
// On a backend that can capture graphs (CUDA), the step is replayed from recorded graphs so
// that small networks are not bound by kernel-launch overhead (see step.cpp): the same kernels
// with the same arguments, so the same results as the eager step.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <functional>

#include "backend/recorder.h"
#include "data/loader.h"
#include "dist/comm.h"
#include "layers/batch_sync.h"
#include "loss/loss.h"
#include "model/model.h"
#include "optim/optimizer.h"

namespace kiln {

class TrainStep {
 public:
  // Hands the optimizer the model's parameter spans (param_spans) for its per-group settings.
  TrainStep(Model& model, Loss& loss, Optimizer& optimizer, uint64_t seed);
  ~TrainStep();
  TrainStep(const TrainStep&) = delete;
  TrainStep& operator=(const TrainStep&) = delete;

  struct Result {
    double loss = 0;      // mean over the batch
    int64_t correct = 0;  // samples whose largest output is their label (0 for regression)
  };
  // `step` counts optimizer steps since the start of the run (it keys the dropout masks).
  Result run(const Batch& batch, int64_t step, double lr);

  // Graph replay on backends that support it: on by default unless KILN_CUDA_GRAPHS=0.
  void set_graphs(bool enabled);
  // Data-parallel steps: the batch is this rank's shard of a global batch, and the gradient,
  // loss and correct count are summed over the ranks of `comm` before the update, weighted so
  // that they are the global batch's (see reduce()). Graph replay is off with several ranks.
  // null or one rank: a plain step.
  void set_comm(Comm* comm);
  // train.sync_bn: with several ranks, batch norm normalises with the global batch's
  // statistics (summed over the ranks through a BatchSync in the training Pass). Every rank's
  // shard must then be non-empty, since each enters every layer's sums (TrainLoop checks).
  void set_sync_bn(bool on) { sync_bn_ = on; }
  // Gradient clipping: before each update, the flat gradient g is scaled by c / ‖g‖ when
  // ‖g‖ > c (0: off). The norm read back to the host each step.
  void set_clip_grad_norm(double c) { clip_ = c; }
  struct GraphStats {
    int64_t captures = 0;      // graph pairs recorded
    int64_t replays = 0;       // steps run from graphs
    int64_t eager_steps = 0;   // steps run without (warm-up, shape changes, CPU)
    int64_t forward_nodes = 0, backward_nodes = 0;  // nodes of the latest graphs
    bool enabled = true;       // false: set_graphs(false) or KILN_CUDA_GRAPHS=0
    std::string disabled;      // why graphs were switched off after failing, if they were
  };
  const GraphStats& graph_stats() const { return stats_; }

 private:
  Result eager(const Tensor& x, const Batch& batch, int64_t step, double lr);
  Result graphed(const Tensor& x, const Batch& batch, int64_t step, double lr);
  std::unique_ptr<Graph> capture(const std::function<void()>& work);
  void drop_graphs();
  int64_t count_correct(const Tensor& out, const Batch& batch);
  Targets targets_of(const Batch& batch);
  void reduce(const Batch& batch, Result& r);
  void start_buckets(int64_t from);
  Comm* comm_ = nullptr;
  // Buckets of the flat gradient for the sums that overlap backward: [bounds_[k], bounds_[k+1]),
  // started from the last (which backward finishes first); next_ is the lowest bucket not yet
  // started. weight_ = n_r / m of this step's shard.
  std::vector<int64_t> bounds_;
  size_t next_ = 0;
  double weight_ = 1;
  Tensor host_grads_;  // the gradient on the host, for devices other than the CPU
  // The ranks' sums for synchronised batch norm, weighted by this step's weight_.
  class RankSync final : public BatchSync {
   public:
    explicit RankSync(TrainStep& s) : s_(s) {}
    void sum(double* x, int64_t n) override { s_.comm_->sum(x, n); }
    void sum_gradients(double* x, int64_t n) override;

   private:
    TrainStep& s_;
  };
  RankSync sync_{*this};
  bool sync_bn_ = false;

  Model& model_;
  Loss& loss_;
  Optimizer& optimizer_;
  uint64_t seed_;
  Tensor x_device_, t_device_, dout_;
  std::vector<int32_t> pred_;

  // Graphs: forward_ = zero_grad + model forward, backward_ = model backward. The loss (which
  // reads the labels from the host and returns its value) and the optimizer (whose learning
  // rate and bias corrections change every step) run eagerly between and after them.
  void clip_gradients();
  double clip_ = 0;
  bool graphs_ = true;
  std::unique_ptr<Recorder> recorder_;  // for the model's device, made at the first step there
  Device recorder_device_ = Device::cpu;
  int failures_ = 0;
  std::unique_ptr<Graph> forward_, backward_;
  const Tensor* graph_out_ = nullptr;  // the model output the forward graph writes
  Shape graph_shape_, warm_shape_;     // batch shapes of the graphs, and of the last eager step
  uint64_t graph_generation_ = 0, warm_generation_ = 0;
  GraphStats stats_;
};

// One line for `kiln train --device cuda`: "cuda graphs: 2 captures (latest: forward 14 nodes,
// backward 23), 930 steps replayed, 9 eager", or why there were none.
std::string describe_graph_stats(const TrainStep::GraphStats& s);

// The flat parameters of `model` as runs of normalisation shifts (NamedTensor::norm) and of
// the rest, in order, adjacent ones of a kind merged.
std::vector<ParamSpan> param_spans(const Model& model);

}  // namespace kiln
