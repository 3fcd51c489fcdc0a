#pragma once
// One training step on a batch: forward in training mode, loss and its gradient, backward,
// optimizer update. The trainer's only view of the model while it trains.
//
// The update is applied even when the loss is not finite: the trainer then stops without
// saving, so the last good checkpoint is what remains.
#include <cstdint>
#include <vector>

#include "data/loader.h"
#include "loss/loss.h"
#include "model/model.h"
#include "optim/optimizer.h"

namespace kiln {

class TrainStep {
 public:
  TrainStep(Model& model, Loss& loss, Optimizer& optimizer, uint64_t seed);

  struct Result {
    double loss = 0;      // mean over the batch
    int64_t correct = 0;  // samples whose largest output is their label
  };
  // `step` counts optimizer steps since the start of the run (it keys the dropout masks).
  Result run(const Batch& batch, int64_t step, double lr);

 private:
  Model& model_;
  Loss& loss_;
  Optimizer& optimizer_;
  uint64_t seed_;
  Tensor x_device_, dout_;
  std::vector<int32_t> pred_;
};

}  // namespace kiln
