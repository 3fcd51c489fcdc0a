#include "model/build.h"

#include "layers/registry.h"

namespace kiln {

Model build_model(const Shape& input, const std::vector<std::string>& specs, uint64_t seed) {
  uint64_t stream = 0;
  return Model(input, build_layers(specs, input.batched(1), stream), seed);
}

}  // namespace kiln
