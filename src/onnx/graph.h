#pragma once
// An ONNX file read into plain structs: the graph's nodes in file order (ONNX requires a
// topological order), its constants (initializers and the outputs of Constant nodes, by name),
// its inputs with their dims and the model's kiln metadata. Only what the importer uses.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln::onnx {

// A constant tensor: float32 values, and the exact integers where the type is an integer one
// (shape arguments: Reshape's target, Gather's indices, Unsqueeze's axes).
struct Constant {
  std::vector<int64_t> dims;
  std::vector<float> values;
  std::vector<int64_t> ints;
  bool integer = false;
};

struct Attr {
  int64_t i = 0;
  float f = 0;
  std::vector<int64_t> ints;
  bool has_tensor = false;
  Constant t;
};

struct Node {
  std::string op, name;
  std::vector<std::string> inputs, outputs;
  std::map<std::string, Attr> attrs;
  bool has(const std::string& k) const { return attrs.count(k) != 0; }
  Attr attr(const std::string& k) const {
    const auto it = attrs.find(k);
    return it == attrs.end() ? Attr{} : it->second;
  }
};

struct GraphInput {
  std::string name;
  std::vector<int64_t> dims;  // 0 where the file gives a name (dim_param, "N") or nothing
};

struct Graph {
  std::vector<Node> nodes;  // without the Constant nodes, whose outputs are in constants
  std::map<std::string, Constant> constants;
  std::vector<GraphInput> inputs;  // the data inputs (initializers listed as inputs left out)
  std::vector<std::string> outputs;
  std::vector<std::string> class_names;  // metadata kiln.class_names, one a line
};

Graph read_graph(const std::string& bytes, const std::string& what);

}  // namespace kiln::onnx
