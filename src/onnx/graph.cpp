// Reading ONNX's protobuf messages (onnx.proto3): ModelProto{7 graph, 14 metadata_props},
// GraphProto{1 node, 5 initializer, 11 input, 12 output}, NodeProto{1 input, 2 output, 3 name,
// 4 op_type, 5 attribute}, AttributeProto{1 name, 2 f, 3 i, 5 t, 8 ints}, TensorProto{1 dims,
// 2 data_type, 4 float_data, 7 int64_data, 8 name, 9 raw_data}, ValueInfoProto{1 name, 2 type}.
#include "onnx/graph.h"

#include <cstring>
#include <sstream>

#include "onnx/proto_reader.h"

namespace kiln::onnx {

namespace {

// TensorProto.DataType values kiln reads.
constexpr int64_t kFloat = 1, kInt32 = 6, kInt64 = 7;

// The first field `number` of a message, as the bytes of a nested message ("" if absent).
std::string_view sub(std::string_view b, int number, const std::string& what) {
  ProtoReader r(b, what);
  Field f;
  while (r.next(f))
    if (f.number == number && f.wire == 2) return f.bytes;
  return {};
}

template <typename T>
void append_raw(std::string_view raw, std::vector<T>& out) {
  for (size_t k = 0; k + sizeof(T) <= raw.size(); k += sizeof(T)) {
    T v;
    std::memcpy(&v, raw.data() + k, sizeof(T));
    out.push_back(v);
  }
}

Constant read_tensor(std::string_view b, const std::string& what, std::string& name) {
  ProtoReader r(b, what);
  Constant t;
  int64_t type = kFloat;
  std::string_view raw;
  Field f;
  while (r.next(f)) {
    if (f.number == 1) for (int64_t d : ProtoReader::ints(f, what)) t.dims.push_back(d);
    else if (f.number == 2) type = static_cast<int64_t>(f.varint);
    else if (f.number == 8) name = std::string(f.bytes);
    else if (f.number == 9) raw = f.bytes;
    else if (f.number == 4 && f.wire == 5) t.values.push_back(f.f32());
    else if (f.number == 4 && f.wire == 2) append_raw(f.bytes, t.values);
    else if (f.number == 5 || f.number == 7) for (int64_t v : ProtoReader::ints(f, what)) t.ints.push_back(v);
  }
  if (type != kFloat && type != kInt64 && type != kInt32)
    throw Error(what + ": tensor '" + name + "' has data type " + std::to_string(type) + " (kiln reads float32, int32 and int64)");
  t.integer = type != kFloat;
  if (type == kInt64) append_raw(raw, t.ints);
  if (type == kInt32) {
    std::vector<int32_t> v;
    append_raw(raw, v);
    t.ints.insert(t.ints.end(), v.begin(), v.end());
  }
  if (type == kFloat) append_raw(raw, t.values);
  else for (int64_t v : t.ints) t.values.push_back(static_cast<float>(v));
  int64_t n = 1;
  for (int64_t d : t.dims) n *= d;
  if (static_cast<int64_t>(t.values.size()) != n)
    throw Error(what + ": tensor '" + name + "' holds " + std::to_string(t.values.size()) + " values for dims of " +
                std::to_string(n));
  return t;
}

Node read_node(std::string_view b, const std::string& what) {
  ProtoReader r(b, what);
  Node n;
  Field f;
  while (r.next(f)) {
    if (f.number == 1) n.inputs.emplace_back(f.bytes);
    else if (f.number == 2) n.outputs.emplace_back(f.bytes);
    else if (f.number == 3) n.name = std::string(f.bytes);
    else if (f.number == 4) n.op = std::string(f.bytes);
    if (f.number != 5) continue;
    ProtoReader a(f.bytes, what);
    Field g;
    std::string name;
    Attr at;
    while (a.next(g)) {
      if (g.number == 1) name = std::string(g.bytes);
      else if (g.number == 2) at.f = g.f32();
      else if (g.number == 3) at.i = static_cast<int64_t>(g.varint);
      else if (g.number == 8) for (int64_t v : ProtoReader::ints(g, what)) at.ints.push_back(v);
      else if (g.number == 5) {
        std::string ignored;
        at.t = read_tensor(g.bytes, what, ignored);
        at.has_tensor = true;
      }
    }
    n.attrs[name] = at;
  }
  return n;
}

// A Constant node's value: its tensor, or value_float / value_int / value_ints.
Constant constant_value(const Node& n, const std::string& what) {
  if (n.has("value") && n.attr("value").has_tensor) return n.attr("value").t;
  Constant c;
  if (n.has("value_float")) c.values = {n.attr("value_float").f};
  else if (n.has("value_int")) c.ints = {n.attr("value_int").i}, c.integer = true;
  else if (n.has("value_ints")) c.ints = n.attr("value_ints").ints, c.integer = true, c.dims = {static_cast<int64_t>(c.ints.size())};
  else throw Error(what + ": Constant node '" + n.name + "' has no value kiln reads (value, value_float, value_int, value_ints)");
  for (int64_t v : c.ints) c.values.push_back(static_cast<float>(v));
  return c;
}

// ValueInfoProto: name, and the dims of type.tensor_type.shape (TypeProto{1 tensor_type},
// Tensor{2 shape}, TensorShapeProto{1 dim}, Dimension{1 dim_value, 2 dim_param}).
GraphInput read_input(std::string_view b, const std::string& what) {
  GraphInput in;
  in.name = std::string(sub(b, 1, what));
  const std::string_view shape = sub(sub(sub(b, 2, what), 1, what), 2, what);
  ProtoReader r(shape, what);
  Field d;
  while (r.next(d)) {
    if (d.number != 1) continue;
    ProtoReader dim(d.bytes, what);
    Field v;
    int64_t value = 0;
    while (dim.next(v))
      if (v.number == 1 && v.wire == 0) value = static_cast<int64_t>(v.varint);
    in.dims.push_back(value);
  }
  return in;
}

std::vector<std::string> class_names_of(std::string_view prop, const std::string& what) {
  ProtoReader e(prop, what);
  Field kv;
  std::string key, value;
  while (e.next(kv)) (kv.number == 1 ? key : value) = std::string(kv.bytes);
  std::vector<std::string> names;
  if (key != "kiln.class_names") return names;
  std::istringstream lines(value);
  for (std::string line; std::getline(lines, line);) names.push_back(line);
  return names;
}

}  // namespace

Graph read_graph(const std::string& bytes, const std::string& what) {
  ProtoReader model(bytes, what);
  std::string_view graph;
  Graph out;
  Field f;
  while (model.next(f)) {
    if (f.number == 7) graph = f.bytes;
    if (f.number == 14 && out.class_names.empty()) out.class_names = class_names_of(f.bytes, what);
  }
  if (graph.empty()) model.fail("no graph");
  std::vector<GraphInput> inputs;
  ProtoReader g(graph, what);
  while (g.next(f)) {
    if (f.number == 1) {
      Node n = read_node(f.bytes, what);
      if (n.op != "Constant") {
        out.nodes.push_back(std::move(n));
      } else {
        if (n.outputs.empty()) throw Error(what + ": Constant node '" + n.name + "' has no output");
        out.constants[n.outputs[0]] = constant_value(n, what);
      }
    } else if (f.number == 5) {
      std::string name;
      Constant t = read_tensor(f.bytes, what, name);
      out.constants[name] = std::move(t);
    } else if (f.number == 11) {
      inputs.push_back(read_input(f.bytes, what));
    } else if (f.number == 12) {
      out.outputs.emplace_back(sub(f.bytes, 1, what));
    }
  }
  for (auto& i : inputs)
    if (!out.constants.count(i.name)) out.inputs.push_back(std::move(i));
  return out;
}

}  // namespace kiln::onnx
