// ONNX graph -> kiln layer specs and weights. The graph is walked from its input along the
// data: each node that takes the current tensor becomes a layer (or nothing: Dropout,
// Identity, a final Softmax); a tensor taken by two nodes is a residual block, whose two
// branches must meet again at an Add; shape-only subgraphs are folded (onnx/shape_fold.h).
#include "onnx/import.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "layers/sequential.h"
#include "model/build.h"
#include "onnx/graph.h"
#include "onnx/import_layers.h"
#include "tensor/files.h"

namespace kiln {

namespace {

using onnx::Constant;
using onnx::Graph;
using onnx::Node;

class Importer {
 public:
  Importer(const Graph& g, std::string what) : g_(g), what_(std::move(what)) {
    for (const Node& n : g_.nodes)
      for (const auto& i : n.inputs) consumers_[i].push_back(&n);
  }

  Model run() {
    const onnx::GraphInput* input = nullptr;
    for (const auto& i : g_.inputs) input = &i;
    if (!input || input->dims.size() < 2) throw Error(what_ + ": no graph input of a known shape (N, ...)");
    const std::vector<int64_t>& d = input->dims;
    if (d.size() != 4 && d.size() != 2)
      throw Error(what_ + ": input of rank " + std::to_string(d.size()) + " (kiln takes (N, C, H, W) or (N, F))");
    for (size_t k = 1; k < d.size(); ++k)
      if (d[k] <= 0) throw Error(what_ + ": input dimension " + std::to_string(k) + " has no size (kiln needs all but the batch)");
    const Shape in = d.size() == 4 ? Shape{d[1], d[2], d[3]} : Shape{d[1]};
    onnx::Mapper::Cursor cur{input->name, in};
    mapper_.emplace(g_, what_, d[0]);
    mapper_->walked(cur);
    onnx::Emitted out;
    chain(nullptr, cur, nullptr, out, true);
    for (const Node& n : g_.nodes)
      if (!done_.count(&n) && !mapper_->folded(n))
        throw Error(what_ + ": " + n.op + " node '" + n.name + "' is not on the path from the input '" + input->name +
                    "' to the output: kiln imports one input and one output");
    if (out.specs.empty()) throw Error(what_ + ": no layers");
    return build(in, out);
  }

 private:
  // The nodes after `cur` that take it as data (a Shape of it is folded where it is used).
  std::vector<const Node*> next_of(const std::string& tensor, const Node* until) {
    std::vector<const Node*> next;
    for (const Node* n : consumers_[tensor])
      if (n->op != "Shape" && n != until && (next.empty() || next.back() != n)) next.push_back(n);
    return next;
  }

  static bool takes(const Node& n, const std::string& tensor) {
    return std::find(n.inputs.begin(), n.inputs.end(), tensor) != n.inputs.end();
  }

  // Maps the nodes from `first` (or the node after `cur`) on, until `until` (a residual
  // block's Add) or the end of the graph.
  void chain(const Node* first, onnx::Mapper::Cursor& cur, const Node* until, onnx::Emitted& out, bool top) {
    for (const Node* n = first;; n = nullptr) {
      if (!n) {
        const std::vector<const Node*> next = next_of(cur.tensor, until);
        if (until && takes(*until, cur.tensor)) {
          if (!next.empty())
            throw Error(what_ + ": tensor '" + cur.tensor + "' feeds the Add '" + until->name + "' and also " + next[0]->op +
                        " node '" + next[0]->name + "': kiln joins branches only as residual blocks");
          return;
        }
        if (next.empty()) return;
        if (next.size() > 1) {
          residual(next, cur, out);
          continue;
        }
        n = next[0];
      }
      mapper_->step(*n, cur, out, top);
      done_.insert(n);
    }
  }

  // Every node reachable from n (n included).
  std::set<const Node*> reachable(const Node* n) {
    std::set<const Node*> seen{n};
    std::vector<const Node*> todo{n};
    while (!todo.empty()) {
      const Node* m = todo.back();
      todo.pop_back();
      for (const auto& o : m->outputs)
        for (const Node* c : consumers_[o])
          if (seen.insert(c).second) todo.push_back(c);
    }
    return seen;
  }

  // cur feeds two nodes: y = f(x) + P x, P the identity or a 1x1 convolution without bias.
  void residual(const std::vector<const Node*>& next, onnx::Mapper::Cursor& cur, onnx::Emitted& out) {
    const std::string at = what_ + ": tensor '" + cur.tensor + "'";
    if (next.size() != 2)
      throw Error(at + " feeds " + std::to_string(next.size()) + " nodes (" + next[0]->op + " '" + next[0]->name + "', " +
                  next[1]->op + " '" + next[1]->name + "', ...): kiln's branches are the two paths of a residual block");
    // Where the branches meet: the first node (in the file's topological order) on both.
    const std::set<const Node*> a = reachable(next[0]), b = reachable(next[1]);
    const Node* join = nullptr;
    for (const Node* n : a)
      if (b.count(n) && (!join || n < join)) join = n;
    if (!join) throw Error(at + " feeds two branches that never meet again (kiln imports one output)");
    if (join->op != "Add" || join->inputs.size() != 2)
      throw Error(at + " feeds two branches that meet at " + join->op + " node '" + join->name +
                  "': kiln joins branches only by an Add (a residual block)");
    onnx::Mapper::Cursor ends[2] = {cur, cur};
    onnx::Emitted paths[2];
    for (int k = 0; k < 2; ++k)
      if (next[static_cast<size_t>(k)] != join) chain(next[static_cast<size_t>(k)], ends[k], join, paths[k], false);
    if (std::set<std::string>{ends[0].tensor, ends[1].tensor} != std::set<std::string>(join->inputs.begin(), join->inputs.end()))
      throw Error(at + ": the Add '" + join->name + "' does not add the ends of the two branches from it");
    // The skip: the empty path, else the one that is a lone 1x1 projection (the Add's second
    // input where both are).
    int skip = paths[0].specs.empty() ? 0 : paths[1].specs.empty() ? 1 : -1;
    if (skip < 0) {
      const int second = ends[1].tensor == join->inputs[1] ? 1 : 0;
      skip = onnx::is_projection(paths[second]) ? second : onnx::is_projection(paths[1 - second]) ? 1 - second : -1;
    }
    if (skip < 0)
      throw Error(what_ + ": the residual block joined at Add '" + join->name + "' has two paths of layers (" +
                  onnx::joined(paths[0].specs) + " | " + onnx::joined(paths[1].specs) +
                  "): kiln's skip path is the identity or a 1x1 convolution without bias");
    const onnx::Emitted& body = paths[1 - skip];
    const Shape body_out = ends[1 - skip].shape;
    if (body.specs.empty()) throw Error(what_ + ": the Add '" + join->name + "' adds a tensor to itself");
    const bool projection = !paths[skip].specs.empty();
    if (!projection && body_out != cur.shape)
      throw Error(what_ + ": the residual block joined at Add '" + join->name + "' adds " + body_out.str() + " to " +
                  cur.shape.str() + " (kiln adds tensors of one shape)");
    if (projection) onnx::check_projection(paths[skip], cur.shape, body_out, ends[skip].shape, join->name, what_);
    out.specs.push_back(std::string("residual") + (projection && body_out == cur.shape ? " proj" : "") + " { " +
                        onnx::joined(body.specs, "; ") + " }");
    out.leaves.insert(out.leaves.end(), body.leaves.begin(), body.leaves.end());
    out.leaves.insert(out.leaves.end(), paths[skip].leaves.begin(), paths[skip].leaves.end());
    out.from_matmul = false;
    done_.insert(join);
    cur = {join->outputs.at(0), body_out};
    mapper_->walked(cur, ends[1 - skip].tensor);
  }

  // The model of the specs, with the file's tensors in its leaf layers (depth first: a
  // residual block's body, then its projection), and its normalisation.
  Model build(const Shape& in, const onnx::Emitted& out) {
    Model m = build_model(in, out.specs, 0);
    std::vector<Layer*> leaves;
    collect_leaves(m.net(), leaves);
    if (leaves.size() != out.leaves.size())
      throw Error(what_ + ": kiln's model has " + std::to_string(leaves.size()) + " layers, the file " + std::to_string(out.leaves.size()));
    for (size_t i = 0; i < leaves.size(); ++i) {
      std::vector<Tensor*> slots;
      for (auto& p : leaves[i]->params()) slots.push_back(p.value);
      for (auto& p : leaves[i]->buffers()) slots.push_back(p.value);
      const std::string spec = leaves[i]->spec();
      if (slots.size() != out.leaves[i].size())
        throw Error(what_ + ": layer '" + spec + "' takes " + std::to_string(slots.size()) + " tensors, the file gives " +
                    std::to_string(out.leaves[i].size()));
      for (size_t k = 0; k < slots.size(); ++k) {
        const Constant& w = *out.leaves[i][k];
        if (static_cast<int64_t>(w.values.size()) != slots[k]->numel())
          throw Error(what_ + ": layer '" + spec + "': tensor " + std::to_string(k) + " has " + std::to_string(w.values.size()) +
                      " values, kiln expects " + slots[k]->shape().str());
        std::vector<Real> v(w.values.begin(), w.values.end());
        slots[k]->copy_from_host(v.data());
      }
    }
    const int64_t C = in[0];
    auto per_channel = [&](std::vector<float> v, float fallback) {
      if (v.empty()) v = {fallback};
      if (v.size() == 1) v.assign(static_cast<size_t>(C), v[0]);
      if (static_cast<int64_t>(v.size()) != C)
        throw Error(what_ + ": the normalisation has " + std::to_string(v.size()) + " values for " + std::to_string(C) + " channels");
      return v;
    };
    std::vector<std::string> names = g_.class_names;
    if (static_cast<int64_t>(names.size()) != m.output_shape().numel()) names.clear();
    m.set_preprocessing({per_channel(mapper_->mean(), 0.f), per_channel(mapper_->sd(), 1.f), names, "onnx"});
    return m;
  }

  static void collect_leaves(Layer& l, std::vector<Layer*>& out) {
    const std::vector<Layer*> c = l.children();
    if (!c.empty()) {
      for (Layer* k : c) collect_leaves(*k, out);
    } else if (!dynamic_cast<Sequential*>(&l)) {  // an empty body computes nothing and holds nothing
      out.push_back(&l);
    }
  }

  const Graph& g_;
  std::string what_;
  std::map<std::string, std::vector<const Node*>> consumers_;
  std::set<const Node*> done_;
  std::optional<onnx::Mapper> mapper_;
};

}  // namespace

Model import_onnx(const std::string& bytes, const std::string& what) { return Importer(onnx::read_graph(bytes, what), what).run(); }

Model import_onnx_file(const std::string& path) { return import_onnx(read_file(path, "ONNX file"), path); }

}  // namespace kiln
