#pragma once
// Checkpoints: everything needed to continue a run bit-exactly — weights and batch-norm
// statistics, optimizer moments and the TrainState (state.h). Written atomically (temporary
// file + rename) with a CRC-32: a kill at any moment leaves the previous checkpoint intact.
#include <string>
#include <vector>

#include "model/model.h"
#include "optim/optimizer.h"
#include "train/state.h"

namespace kiln {

void save_checkpoint(const std::string& path, const Model& model, const Optimizer& opt, const TrainState& state);
void load_checkpoint(const std::string& path, Model& model, Optimizer& opt, TrainState& state);

}  // namespace kiln
