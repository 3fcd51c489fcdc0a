#pragma once
// One ONNX node -> one kiln layer spec (or none), for the importer's walk (onnx/import.cpp):
// what each operator and attribute means in kiln, and the tensors each layer takes.
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "onnx/graph.h"
#include "tensor/tensor.h"

namespace kiln::onnx {

// The operators the importer reads, for its error messages.
extern const char* const kSupportedOps;

// Layer specs of a chain, and per leaf layer (depth first) its params then buffers.
struct Emitted {
  std::vector<std::string> specs;
  std::vector<std::vector<const Constant*>> leaves;
  bool from_matmul = false;  // the last spec is a MatMul's dense without bias (an Add may give it)
};

std::string joined(const std::vector<std::string>& specs, const std::string& sep = ", ");
// A path that is a lone 1x1 convolution without bias and padding: kiln's projection skip.
bool is_projection(const Emitted& path);
// kiln's projection has stride in.H / out.H: the file's must be that one.
void check_projection(const Emitted& path, const Shape& in, const Shape& body_out, const Shape& skip_out,
                      const std::string& join, const std::string& what);

class Mapper {
 public:
  // A data tensor and its per-sample shape as kiln sees it.
  struct Cursor {
    std::string tensor;
    Shape shape;
  };
  // batch: the input's declared batch size, 0 where it is a name (any size).
  Mapper(const Graph& g, std::string what, int64_t batch) : g_(g), what_(std::move(what)), batch_(batch) {}

  // Maps node n, which takes cur, and moves cur to its output. `top`: not inside a residual
  // block (where Sub/Div before the first layer are the normalisation).
  void step(const Node& n, Cursor& cur, Emitted& out, bool top);
  // Records cur's dims for Shape nodes; `like`: a tensor of the same dims already walked.
  void walked(const Cursor& cur, const std::string& like = "");
  bool folded(const Node& n) const { return folded_.count(&n) != 0; }
  const std::vector<float>& mean() const { return mean_; }
  const std::vector<float>& sd() const { return sd_; }

 private:
  const Constant* constant(const Node& n, size_t k) const;
  bool reshape(const Node& n, const Cursor& cur);  // true: a flatten kiln needs
  [[noreturn]] void fail(const Node& n, const std::string& msg) const;

  const Graph& g_;
  std::string what_;
  int64_t batch_;
  std::map<std::string, std::vector<int64_t>> dims_;  // per sample, as ONNX has them
  std::set<const Node*> folded_;
  std::deque<Constant> derived_;  // transposed weights
  std::vector<float> mean_, sd_;
  bool any_layer_ = false;
};

}  // namespace kiln::onnx
