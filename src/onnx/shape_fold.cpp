#include "onnx/shape_fold.h"

#include <algorithm>
#include <map>

#include "tensor/check.h"

namespace kiln::onnx {

namespace {

const Node* producer(const Graph& g, const std::string& tensor) {
  for (const Node& n : g.nodes)
    for (const auto& o : n.outputs)
      if (o == tensor) return &n;
  return nullptr;
}

// ONNX axes may be negative: counted from the end.
int64_t axis_in(int64_t a, int64_t rank) { return a < 0 ? a + rank : a; }

}  // namespace

std::string folded_str(const Folded& f) {
  std::string s = f.scalar ? "" : "[";
  for (size_t i = 0; i < f.v.size(); ++i) s += (i ? ", " : "") + (f.v[i] == kBatch ? std::string("N") : std::to_string(f.v[i]));
  return s + (f.scalar ? "" : "]");
}

Folded fold(const Graph& g, const std::string& tensor, const DimsOf& dims_of, std::set<const Node*>& used,
            const std::string& what) {
  if (const auto c = g.constants.find(tensor); c != g.constants.end()) {
    if (!c->second.integer) throw Error(what + ": the shape argument '" + tensor + "' is not an integer tensor");
    return {c->second.ints, c->second.dims.empty()};
  }
  const Node* n = producer(g, tensor);
  if (!n) throw Error(what + ": the shape argument '" + tensor + "' is neither a constant nor computed by a node");
  used.insert(n);
  const std::string where = what + ": " + n->op + " node '" + n->name + "' (computing the shape argument '" + tensor + "')";
  auto arg = [&](size_t k) {
    if (k >= n->inputs.size()) throw Error(where + ": input " + std::to_string(k) + " is missing");
    return fold(g, n->inputs[k], dims_of, used, what);
  };
  const std::string& op = n->op;
  if (op == "Shape") {  // opset 15 adds start and end (a slice of the dims)
    const std::vector<int64_t> d = dims_of(n->inputs.at(0));
    const auto r = static_cast<int64_t>(d.size());
    const int64_t start = std::clamp(axis_in(n->attr("start").i, r), int64_t{0}, r);
    const int64_t end = n->has("end") ? std::clamp(axis_in(n->attr("end").i, r), int64_t{0}, r) : r;
    return {std::vector<int64_t>(d.begin() + start, d.begin() + std::max(start, end)), false};
  }
  if (op == "Identity" || op == "Cast") return arg(0);
  if (op == "Gather") {
    const Folded data = arg(0), idx = arg(1);
    if (data.scalar || n->attr("axis").i != 0) throw Error(where + ": only a 1-D gather along axis 0");
    Folded out{{}, idx.scalar};
    for (int64_t i : idx.v) {
      const int64_t k = axis_in(i, static_cast<int64_t>(data.v.size()));
      if (k < 0 || k >= static_cast<int64_t>(data.v.size())) throw Error(where + ": index " + std::to_string(i) + " out of " + folded_str(data));
      out.v.push_back(data.v[static_cast<size_t>(k)]);
    }
    return out;
  }
  if (op == "Unsqueeze" || op == "Squeeze") {  // opset 13: the axes are an input, before: an attribute
    Folded x = arg(0);
    const std::vector<int64_t> axes = n->inputs.size() > 1 ? arg(1).v : n->attr("axes").ints;
    if (op == "Unsqueeze" && x.scalar && axes == std::vector<int64_t>{0}) return {x.v, false};
    if (op == "Squeeze" && !x.scalar && x.v.size() == 1 && (axes.empty() || axes == std::vector<int64_t>{0})) return {x.v, true};
    throw Error(where + ": only a scalar to a 1-D vector and back");
  }
  if (op == "Concat") {
    if (n->attr("axis").i != 0) throw Error(where + ": only axis 0");
    Folded out;
    for (size_t k = 0; k < n->inputs.size(); ++k) {
      const Folded p = arg(k);
      if (p.scalar) throw Error(where + ": input " + std::to_string(k) + " is a scalar");
      out.v.insert(out.v.end(), p.v.begin(), p.v.end());
    }
    return out;
  }
  throw Error(where + ": kiln folds shape arguments computed by " + kShapeOps + " from constants and the data's shape, "
              "not by " + op);
}

}  // namespace kiln::onnx
