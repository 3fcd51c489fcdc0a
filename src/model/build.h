#pragma once
// Networks are built at run time from the compact layer syntax of experiment files:
//   dense N [bias=false]           conv K RxS [stride=1] [pad=0] [bias=true]
//   maxpool k [stride=k]           avgpool k [stride=k]          gap
//   relu | leakyrelu [slope] | tanh | sigmoid                     dropout p
//   bn [momentum=0.1] [eps=1e-5]   flatten
//   residual [proj] { layer; layer; ... }   (a 1x1 projection is added when the shape changes)
// Input channels and feature counts are inferred from the shape flowing in.
#include <string>
#include <vector>

#include "model/model.h"

namespace kiln {

// Builds the chain for a batched input shape (N, ...); `stream` numbers stochastic layers.
Sequential build_layers(const std::vector<std::string>& specs, const Shape& batched_input, uint64_t& stream);

// input: the per-sample shape ({1, 28, 28}); seed: weight initialisation.
Model build_model(const Shape& input, const std::vector<std::string>& specs, uint64_t seed);

// Splits "a; b { c; d }; e" at top-level semicolons.
std::vector<std::string> split_specs(const std::string& text);

}  // namespace kiln
