#pragma once
// The layer kinds of the experiment-file syntax, in one table (registry.cpp). Each layer's file
// parses its own spec line (its static kind().parse) and prints it back (Layer::spec()), so a
// new layer is its own file plus one line in the table:
//   dense N [bias=false]           conv K RxS [stride=1] [pad=0] [bias=true]
//   maxpool k [stride=k]           avgpool k [stride=k]          gap
//   relu | leakyrelu [slope] | tanh | sigmoid                     dropout p
//   bn [momentum=0.1] [eps=1e-5]   flatten
//   residual [proj] { layer; layer; ... }   (a 1x1 projection is added when the shape changes)
// Input channels and feature counts are inferred from the shape flowing in.
#include <memory>
#include <string>
#include <vector>

#include "layers/sequential.h"
#include "layers/spec.h"

namespace kiln {

// What a layer's parser sees besides its own line.
struct BuildContext {
  Shape input;           // the batched input shape (N, ...) the layer will receive
  uint64_t* stream;      // the next stream number for a stochastic layer (dropout masks)
  int depth = 0;         // how many blocks enclose the line
  // Builds a nested chain (a residual block's body) for this context's input.
  Sequential build_block(const std::string& text) const;
  // Fails unless the input is (N, C, H, W).
  void need_image(const SpecLine& line) const;
};

struct LayerKind {
  std::string name;                  // the spec's first word
  std::vector<std::string> aliases;  // other words for it ("linear", "fc")
  std::string syntax;                // "dense N [bias=false]", for errors and help
  std::unique_ptr<Layer> (*parse)(SpecLine& line, const BuildContext& ctx);
};

// Every layer kind, in the order the help lists them.
const std::vector<LayerKind>& layer_kinds();

// Builds the chain for a batched input shape (N, ...); `stream` numbers stochastic layers.
// Errors name the line; unknown names get a suggestion.
Sequential build_layers(const std::vector<std::string>& specs, const Shape& batched_input, uint64_t& stream,
                        int depth = 0);

// How deep blocks may nest: far beyond any real network, and a bound on the recursion that
// a hostile file could otherwise drive into a stack overflow.
constexpr int kMaxBlockDepth = 32;

}  // namespace kiln
