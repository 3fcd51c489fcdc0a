#pragma once
// Shape-only subgraphs, folded to numbers. What torch.onnx.export writes for x.view(x.size(0), -1)
// is Shape -> Gather(0) -> Unsqueeze -> Concat([-1]) -> Reshape: the target of the Reshape is an
// int64 vector computed from the data's shape. Evaluated here with the batch size as a symbol,
// so the importer can tell whether a Reshape is provably a flatten of the batch.
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "onnx/graph.h"

namespace kiln::onnx {

// An entry of a folded value that stands for the batch size (unknown when importing).
constexpr int64_t kBatch = INT64_MIN;

struct Folded {
  std::vector<int64_t> v;
  bool scalar = false;
};

// The operators fold() evaluates.
inline constexpr const char* kShapeOps = "Shape, Gather, Unsqueeze, Squeeze, Concat, Cast, Identity";

// The dims (batch first, as kBatch) of a data tensor the importer has walked past.
using DimsOf = std::function<std::vector<int64_t>(const std::string& tensor)>;

// The value of `tensor`: a constant, or the output of shape operators ending in Shape of a
// data tensor. Each node it evaluates is added to `used`. Anything else is an error naming
// the node and what fold() evaluates.
Folded fold(const Graph& g, const std::string& tensor, const DimsOf& dims_of, std::set<const Node*>& used,
            const std::string& what);

// "[N, -1]": a folded value as the error messages show it.
std::string folded_str(const Folded& f);

}  // namespace kiln::onnx
