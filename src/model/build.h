#pragma once
// A model from the layer lines of an experiment file (the syntax: layers/registry.h).
#include <string>
#include <vector>

#include "model/model.h"

namespace kiln {

// input: the per-sample shape ({1, 28, 28}); seed: weight initialisation.
Model build_model(const Shape& input, const std::vector<std::string>& specs, uint64_t seed);

// The model a weights file (weights.kiln) or a checkpoint holds: built from the architecture
// and input shape it records, then loaded (weights, batch-norm statistics, preprocessing). No
// experiment file is needed.
Model load_model(const std::string& path);

}  // namespace kiln
