#include "onnx/import.h"

#include <map>
#include <sstream>

#include "model/build.h"
#include "onnx/proto_reader.h"
#include "tensor/files.h"

namespace kiln {

namespace {

using onnx::Field;
using onnx::ProtoReader;

struct Init {
  std::vector<int64_t> dims;
  std::vector<float> values;
};

struct Attr {
  int64_t i = 0;
  float f = 0;
  std::vector<int64_t> ints;
};

struct Node {
  std::string op, name;
  std::vector<std::string> inputs, outputs;
  std::map<std::string, Attr> attrs;
};

Init read_tensor(std::string_view b, const std::string& what, std::string& name) {
  ProtoReader r(b, what);
  Init t;
  int64_t type = 1;
  std::string_view raw;
  Field f;
  while (r.next(f)) {
    if (f.number == 1) for (int64_t d : ProtoReader::ints(f, what)) t.dims.push_back(d);
    else if (f.number == 2) type = static_cast<int64_t>(f.varint);
    else if (f.number == 8) name = std::string(f.bytes);
    else if (f.number == 9) raw = f.bytes;
    else if (f.number == 4 && f.wire == 5) t.values.push_back(f.f32());
    else if (f.number == 4 && f.wire == 2)
      for (size_t k = 0; k + 4 <= f.bytes.size(); k += 4) {
        float v;
        std::memcpy(&v, f.bytes.data() + k, 4);
        t.values.push_back(v);
      }
    else if (f.number == 7) for (int64_t v : ProtoReader::ints(f, what)) t.values.push_back(static_cast<float>(v));
  }
  if (!raw.empty()) {
    if (type == 1) {
      t.values.resize(raw.size() / 4);
      std::memcpy(t.values.data(), raw.data(), t.values.size() * 4);
    } else if (type == 7) {  // INT64 (Reshape's shape)
      for (size_t k = 0; k + 8 <= raw.size(); k += 8) {
        int64_t v;
        std::memcpy(&v, raw.data() + k, 8);
        t.values.push_back(static_cast<float>(v));
      }
    } else {
      throw Error(what + ": initializer '" + name + "' has data type " + std::to_string(type) + " (kiln reads float32 and int64)");
    }
  }
  int64_t n = 1;
  for (int64_t d : t.dims) n *= d;
  if (static_cast<int64_t>(t.values.size()) != n)
    throw Error(what + ": initializer '" + name + "' holds " + std::to_string(t.values.size()) + " values for dims of " +
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
    else if (f.number == 5) {
      ProtoReader a(f.bytes, what);
      Field g;
      std::string name;
      Attr at;
      while (a.next(g)) {
        if (g.number == 1) name = std::string(g.bytes);
        else if (g.number == 2) at.f = g.f32();
        else if (g.number == 3) at.i = static_cast<int64_t>(g.varint);
        else if (g.number == 8) for (int64_t v : ProtoReader::ints(g, what)) at.ints.push_back(v);
      }
      n.attrs[name] = at;
    }
  }
  return n;
}

// Input shape (without the batch) of a ValueInfoProto.
std::pair<std::string, std::vector<int64_t>> read_input(std::string_view b, const std::string& what) {
  ProtoReader r(b, what);
  std::pair<std::string, std::vector<int64_t>> out;
  Field f;
  while (r.next(f)) {
    if (f.number == 1) out.first = std::string(f.bytes);
    if (f.number != 2) continue;
    ProtoReader type(f.bytes, what);
    Field t;
    while (type.next(t)) {
      if (t.number != 1) continue;
      ProtoReader tensor(t.bytes, what);
      Field s;
      while (tensor.next(s)) {
        if (s.number != 2) continue;
        ProtoReader shape(s.bytes, what);
        Field d;
        while (shape.next(d)) {
          if (d.number != 1) continue;
          ProtoReader dim(d.bytes, what);
          Field v;
          int64_t value = 0;
          while (dim.next(v))
            if (v.number == 1) value = static_cast<int64_t>(v.varint);
          out.second.push_back(value);
        }
      }
    }
  }
  return out;
}

}  // namespace

Model import_onnx(const std::string& bytes, const std::string& what) {
  ProtoReader model(bytes, what);
  std::string_view graph;
  Field f;
  std::vector<std::string> class_names;
  while (model.next(f)) {
    if (f.number == 7) graph = f.bytes;
    if (f.number != 14) continue;  // metadata_props: kiln.class_names, one a line
    ProtoReader e(f.bytes, what);
    Field kv;
    std::string key, value;
    while (e.next(kv)) (kv.number == 1 ? key : value) = std::string(kv.bytes);
    if (key != "kiln.class_names") continue;
    std::istringstream lines(value);
    for (std::string line; std::getline(lines, line);) class_names.push_back(line);
  }
  if (graph.empty()) model.fail("no graph");
  std::vector<Node> nodes;
  std::map<std::string, Init> inits;
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputs;
  ProtoReader g(graph, what);
  while (g.next(f)) {
    if (f.number == 1) nodes.push_back(read_node(f.bytes, what));
    else if (f.number == 5) {
      std::string name;
      Init t = read_tensor(f.bytes, what, name);
      inits[name] = std::move(t);
    } else if (f.number == 11) inputs.push_back(read_input(f.bytes, what));
  }
  std::string cur;
  std::vector<int64_t> in_dims;
  for (const auto& i : inputs)
    if (!inits.count(i.first)) cur = i.first, in_dims = i.second;
  if (cur.empty() || in_dims.size() < 2) throw Error(what + ": no graph input of a known shape (N, ...)");
  if (in_dims.size() != 4 && in_dims.size() != 2)
    throw Error(what + ": input of rank " + std::to_string(in_dims.size()) + " (kiln takes (N, C, H, W) or (N, F))");
  const Shape input = in_dims.size() == 4 ? Shape{in_dims[1], in_dims[2], in_dims[3]} : Shape{in_dims[1]};

  std::vector<std::string> specs;
  std::vector<std::vector<const Init*>> weights;  // per spec: its params then buffers, in kiln's order
  std::vector<float> mean, sd;
  int rank = static_cast<int>(in_dims.size());
  auto init = [&](const Node& n, size_t k) -> const Init* {
    if (k >= n.inputs.size() || n.inputs[k].empty()) return nullptr;
    const auto it = inits.find(n.inputs[k]);
    if (it == inits.end())
      throw Error(what + ": " + n.op + " node '" + n.name + "': input '" + n.inputs[k] + "' is not a constant");
    return &it->second;
  };
  auto attr = [](const Node& n, const std::string& k) { const auto it = n.attrs.find(k); return it == n.attrs.end() ? Attr{} : it->second; };
  auto add = [&](std::string spec, std::vector<const Init*> w = {}) { specs.push_back(std::move(spec)), weights.push_back(std::move(w)); };
  for (const Node& n : nodes) {
    bool chain = !n.inputs.empty() && n.inputs[0] == cur;
    for (size_t k = 1; k < n.inputs.size(); ++k)
      if (!n.inputs[k].empty() && !inits.count(n.inputs[k])) chain = false;
    if (!chain)
      throw Error(what + ": " + n.op + " node '" + n.name + "' does not take the previous node's output: kiln imports "
                  "chains of operators (no branches or residual additions)");
    const std::string& op = n.op;
    if ((op == "Sub" || op == "Div") && specs.empty()) {
      std::vector<float>& into = op == "Sub" ? mean : sd;
      into = init(n, 1)->values;
    } else if (op == "Conv") {
      const Init* w = init(n, 1);
      const Init* b = init(n, 2);
      const auto pads = attr(n, "pads").ints, st = attr(n, "strides").ints;
      const int64_t group = attr(n, "group").i;
      if (w->dims.size() != 4 || (group != 0 && group != 1)) throw Error(what + ": Conv '" + n.name + "': only 2-D convolutions without groups");
      for (int64_t d : attr(n, "dilations").ints)
        if (d != 1) throw Error(what + ": Conv '" + n.name + "': dilations are not supported");
      const int64_t p = pads.empty() ? 0 : pads[0], s = st.empty() ? 1 : st[0];
      for (int64_t q : pads) if (q != p) throw Error(what + ": Conv '" + n.name + "': asymmetric pads are not supported");
      if (st.size() == 2 && st[1] != s) throw Error(what + ": Conv '" + n.name + "': unequal strides are not supported");
      std::ostringstream os;
      os << "conv " << w->dims[0] << " " << w->dims[2] << "x" << w->dims[3] << " stride=" << s << " pad=" << p << (b ? "" : " bias=false");
      add(os.str(), b ? std::vector<const Init*>{w, b} : std::vector<const Init*>{w});
    } else if (op == "Gemm") {
      const Init* w = init(n, 1);
      const Init* b = init(n, 2);
      if (attr(n, "transA").i != 0) throw Error(what + ": Gemm '" + n.name + "': transA is not supported");
      if ((n.attrs.count("alpha") && attr(n, "alpha").f != 1.f) || (n.attrs.count("beta") && attr(n, "beta").f != 1.f))
        throw Error(what + ": Gemm '" + n.name + "': alpha and beta other than 1 are not supported");
      if (w->dims.size() != 2) throw Error(what + ": Gemm '" + n.name + "': the weight is not a matrix");
      if (attr(n, "transB").i == 0) {  // (in, out): kiln's dense keeps (out, in)
        Init t{{w->dims[1], w->dims[0]}, std::vector<float>(w->values.size())};
        for (int64_t i = 0; i < w->dims[0]; ++i)
          for (int64_t o = 0; o < w->dims[1]; ++o) t.values[static_cast<size_t>(o * w->dims[0] + i)] = w->values[static_cast<size_t>(i * w->dims[1] + o)];
        w = &(inits[cur + "/transposed for " + n.name] = std::move(t));
      }
      add("dense " + std::to_string(w->dims[0]) + (b ? "" : " bias=false"), b ? std::vector<const Init*>{w, b} : std::vector<const Init*>{w});
      rank = 2;
    } else if (op == "Relu") add("relu");
    else if (op == "Tanh") add("tanh");
    else if (op == "Sigmoid") add("sigmoid");
    else if (op == "LeakyRelu") {
      std::ostringstream os;
      os.precision(9);
      os << "leakyrelu " << (n.attrs.count("alpha") ? attr(n, "alpha").f : 0.01f);
      add(os.str());
    } else if (op == "MaxPool" || op == "AveragePool") {
      const auto ks = attr(n, "kernel_shape").ints, st = attr(n, "strides").ints;
      for (int64_t q : attr(n, "pads").ints) if (q != 0) throw Error(what + ": " + op + " '" + n.name + "': padding is not supported");
      if (attr(n, "ceil_mode").i != 0) throw Error(what + ": " + op + " '" + n.name + "': ceil_mode is not supported");
      if (ks.size() != 2 || ks[0] != ks[1]) throw Error(what + ": " + op + " '" + n.name + "': only square 2-D windows");
      const int64_t s = st.empty() ? 1 : st[0];
      add(std::string(op == "MaxPool" ? "maxpool " : "avgpool ") + std::to_string(ks[0]) + " stride=" + std::to_string(s));
    } else if (op == "GlobalAveragePool") {
      add("gap");
      rank = 2;
    } else if (op == "Flatten" || op == "Reshape") {
      if (op == "Flatten" && n.attrs.count("axis") && attr(n, "axis").i != 1)
        throw Error(what + ": Flatten '" + n.name + "': only axis=1");
      if (rank != 2) add("flatten");
      rank = 2;
    } else if (op == "BatchNormalization") {
      std::ostringstream os;
      os.precision(9);
      os << "bn";
      if (n.attrs.count("epsilon")) os << " eps=" << attr(n, "epsilon").f;
      add(os.str(), {init(n, 1), init(n, 2), init(n, 3), init(n, 4)});
    } else if (op == "Dropout" || op == "Identity" || op == "Softmax") {
      // the identity at inference; Softmax: kiln's output is the logits before it
    } else {
      throw Error(what + ": operator " + op + " (node '" + n.name + "') is not supported by kiln's importer (it reads Conv, "
                  "Gemm, Relu, LeakyRelu, Tanh, Sigmoid, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, "
                  "BatchNormalization, Dropout, Identity, Softmax, and Sub/Div by constants before the first layer)");
    }
    if (n.outputs.empty()) throw Error(what + ": node '" + n.name + "' has no output");
    cur = n.outputs[0];
  }
  if (specs.empty()) throw Error(what + ": no layers");
  Model m = build_model(input, specs, 0);
  for (size_t i = 0; i < specs.size(); ++i) {
    Layer& l = m.net()[i];
    std::vector<Tensor*> slots;
    for (auto& p : l.params()) slots.push_back(p.value);
    for (auto& p : l.buffers()) slots.push_back(p.value);
    if (slots.size() != weights[i].size())
      throw Error(what + ": layer '" + specs[i] + "' takes " + std::to_string(slots.size()) + " tensors, the file gives " +
                  std::to_string(weights[i].size()));
    for (size_t k = 0; k < slots.size(); ++k) {
      const Init& w = *weights[i][k];
      if (static_cast<int64_t>(w.values.size()) != slots[k]->numel())
        throw Error(what + ": layer '" + specs[i] + "': tensor " + std::to_string(k) + " has " + std::to_string(w.values.size()) +
                    " values, kiln expects " + slots[k]->shape().str());
      std::vector<Real> v(w.values.begin(), w.values.end());
      slots[k]->copy_from_host(v.data());
    }
  }
  const int64_t C = input[0];
  auto per_channel = [&](std::vector<float> v, float fallback) {
    if (v.empty()) v = {fallback};
    if (v.size() == 1) v.assign(static_cast<size_t>(C), v[0]);
    if (static_cast<int64_t>(v.size()) != C) throw Error(what + ": the normalisation has " + std::to_string(v.size()) + " values for " + std::to_string(C) + " channels");
    return v;
  };
  if (static_cast<int64_t>(class_names.size()) != m.output_shape().numel()) class_names.clear();
  Preprocessing prep{per_channel(mean, 0.f), per_channel(sd, 1.f), class_names, "onnx"};
  m.set_preprocessing(prep);
  return m;
}

Model import_onnx_file(const std::string& path) { return import_onnx(read_file(path, "ONNX file"), path); }

}  // namespace kiln
