#include "onnx/export.h"

#include <sstream>

#include "layers/activation.h"
#include "layers/batchnorm.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/pool.h"
#include "layers/residual.h"
#include "layers/sequential.h"
#include "onnx/proto.h"
#include "tensor/files.h"

namespace kiln {

namespace {

using onnx::Proto;

// onnx.proto's enums.
constexpr int kFloat = 1;                     // TensorProto.DataType
constexpr int kAttrFloat = 1, kAttrInts = 7;  // AttributeProto.AttributeType
constexpr int kAttrInt = 2;

Proto attr_ints(const std::string& name, const std::vector<int64_t>& v) {
  Proto a;
  a.bytes(1, name).packed(8, v).varint(20, kAttrInts);
  return a;
}
Proto attr_int(const std::string& name, int64_t v) {
  Proto a;
  a.bytes(1, name).varint(3, static_cast<uint64_t>(v)).varint(20, kAttrInt);
  return a;
}
Proto attr_float(const std::string& name, float v) {
  Proto a;
  a.bytes(1, name).f32(2, v).varint(20, kAttrFloat);
  return a;
}

// The spec's option `key=` as a number, or `fallback`.
double spec_option(const std::string& spec, const std::string& key, double fallback) {
  std::istringstream in(spec);
  for (std::string tok; in >> tok;)
    if (tok.rfind(key + "=", 0) == 0) return std::stod(tok.substr(key.size() + 1));
  return fallback;
}

Tensor* param(Layer& l, const std::string& name) {
  for (auto& p : l.params())
    if (p.name == name) return p.value;
  for (auto& p : l.buffers())
    if (p.name == name) return p.value;
  return nullptr;
}

class GraphBuilder {
 public:
  Proto graph;
  int next_id = 0;

  std::string fresh(const std::string& stem) { return stem + "_" + std::to_string(next_id++); }

  std::string initializer(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
    Proto t;
    t.packed(1, dims).varint(2, kFloat).bytes(8, name);
    t.bytes(9, std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
    graph.message(5, t);
    return name;
  }
  std::string initializer(const std::string& name, const Tensor& t) {
    std::vector<Real> host(static_cast<size_t>(t.numel()));
    t.copy_to_host(host.data());
    std::vector<int64_t> dims;
    for (int i = 0; i < t.rank(); ++i) dims.push_back(t.dim(i));
    return initializer(name, dims, std::vector<float>(host.begin(), host.end()));
  }

  std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::vector<Proto>& attrs = {},
                   std::string output = "") {
    if (output.empty()) output = fresh(op);
    Proto n;
    for (const auto& i : inputs) n.bytes(1, i);
    n.bytes(2, output).bytes(3, output + "_node").bytes(4, op);
    for (const auto& a : attrs) n.message(5, a);
    graph.message(1, n);
    return output;
  }

  // Nodes of `layer` on input `x` of (batched) shape `in`; returns the output's name.
  std::string layer(Layer& l, const std::string& x, const Shape& in, const std::string& path) {
    const std::string spec = l.spec();
    if (auto* s = dynamic_cast<Sequential*>(&l)) {
      std::string y = x;
      Shape shape = in;
      for (size_t i = 0; i < s->size(); ++i) {
        y = layer((*s)[i], y, shape, path + std::to_string(i) + ".");
        shape = (*s)[i].output_shape(shape);
      }
      return y;
    }
    if (auto* c = dynamic_cast<Conv2d*>(&l)) {
      std::vector<std::string> ins{x, initializer(path + "weight", *param(l, "weight"))};
      if (Tensor* b = param(l, "bias")) ins.push_back(initializer(path + "bias", *b));
      const int64_t p = c->pad(), st = c->stride();
      return node("Conv", ins,
                  {attr_ints("kernel_shape", {c->kernel_h(), c->kernel_w()}), attr_ints("pads", {p, p, p, p}),
                   attr_ints("strides", {st, st})});
    }
    if (dynamic_cast<Dense*>(&l)) {
      std::string flat = x;
      if (in.rank() != 2) flat = node("Flatten", {x}, {attr_int("axis", 1)});
      std::vector<std::string> ins{flat, initializer(path + "weight", *param(l, "weight"))};
      if (Tensor* b = param(l, "bias")) ins.push_back(initializer(path + "bias", *b));
      return node("Gemm", ins, {attr_int("transB", 1)});
    }
    if (dynamic_cast<MaxPool2d*>(&l) || dynamic_cast<AvgPool2d*>(&l)) {
      std::istringstream is(spec);
      std::string name;
      int64_t k = 0;
      is >> name >> k;
      const auto st = static_cast<int64_t>(spec_option(spec, "stride", static_cast<double>(k)));
      return node(dynamic_cast<MaxPool2d*>(&l) ? "MaxPool" : "AveragePool", {x},
                  {attr_ints("kernel_shape", {k, k}), attr_ints("strides", {st, st})});
    }
    if (dynamic_cast<GlobalAvgPool*>(&l)) return node("Flatten", {node("GlobalAveragePool", {x})}, {attr_int("axis", 1)});
    if (dynamic_cast<Flatten*>(&l)) return node("Flatten", {x}, {attr_int("axis", 1)});
    if (dynamic_cast<Dropout*>(&l)) return x;  // the identity at inference
    if (dynamic_cast<BatchNorm*>(&l)) {
      const float eps = static_cast<float>(spec_option(spec, "eps", 1e-5));
      return node("BatchNormalization",
                  {x, initializer(path + "gamma", *param(l, "gamma")), initializer(path + "beta", *param(l, "beta")),
                   initializer(path + "running_mean", *param(l, "running_mean")),
                   initializer(path + "running_var", *param(l, "running_var"))},
                  {attr_float("epsilon", eps)});
    }
    if (auto* a = dynamic_cast<ActivationLayer*>(&l)) {
      if (std::holds_alternative<math::Relu>(a->function())) return node("Relu", {x});
      if (std::holds_alternative<math::Tanh>(a->function())) return node("Tanh", {x});
      if (std::holds_alternative<math::Sigmoid>(a->function())) return node("Sigmoid", {x});
      if (std::holds_alternative<math::Gelu>(a->function())) {
        // x Φ(x) = x · 0.5 · (1 + erf(x / √2)), from opset-9 ops (Gelu itself is opset 20).
        const std::string e = node("Erf", {node("Mul", {x, initializer(path + "inv_sqrt2", {}, {0.70710678f})})});
        const std::string half_x = node("Mul", {x, initializer(path + "half", {}, {0.5f})});
        return node("Mul", {half_x, node("Add", {e, initializer(path + "one", {}, {1.0f})})});
      }
      if (const auto* lr = std::get_if<math::LeakyRelu>(&a->function()))
        return node("LeakyRelu", {x}, {attr_float("alpha", lr->slope)});
      if (const auto* sc = std::get_if<math::Scale>(&a->function()))
        return node("Mul", {x, initializer(path + "factor", {}, {sc->factor})});
    }
    if (dynamic_cast<Residual*>(&l)) {
      const auto kids = l.children();
      const std::string fx = layer(*kids[0], x, in, path + "body.");
      const std::string skip = kids.size() > 1 ? layer(*kids[1], x, in, path + "proj.") : x;
      return node("Add", {fx, skip});
    }
    throw Error("layer '" + spec + "' has no ONNX form in kiln's exporter (it writes conv, dense, maxpool, avgpool, "
                "gap, flatten, dropout, bn, relu, leakyrelu, tanh, sigmoid, gelu, scale and residual blocks)");
  }
};

Proto value_info(const std::string& name, const std::vector<int64_t>& dims) {
  Proto shape;
  for (size_t i = 0; i < dims.size(); ++i) {
    Proto d;
    if (i == 0) d.bytes(2, "N");  // the batch: any size
    else d.varint(1, static_cast<uint64_t>(dims[i]));
    shape.message(1, d);
  }
  Proto tensor;
  tensor.varint(1, kFloat).message(2, shape);
  Proto type;
  type.message(1, tensor);
  Proto v;
  v.bytes(1, name).message(2, type);
  return v;
}

}  // namespace

std::string export_onnx(Model& model, const std::string& graph_name) {
  const Shape& in = model.input_shape();
  std::vector<int64_t> in_dims{1}, out_dims{1};
  for (int i = 0; i < in.rank(); ++i) in_dims.push_back(in[i]);
  const Shape out = model.output_shape();
  for (int i = 0; i < out.rank(); ++i) out_dims.push_back(out[i]);
  Shape batched = in.rank() == 3 ? Shape{1, in[0], in[1], in[2]} : in.rank() == 1 ? Shape{1, in[0]} : Shape{};
  if (batched.rank() == 0) throw Error("ONNX export: inputs of " + in.str() + " (expected (C, H, W) or (F))");

  const Preprocessing& prep = model.preprocessing();
  // The graph's outputs are logits and their softmax; a regression's output needs its target's
  // y · std + mean instead, which kiln's importer would not read back: refused, not half right.
  if (prep.regression())
    throw Error("ONNX export: this model is a regression on column '" + prep.label +
                "' (data.task = \"regression\"); kiln exports classifiers only (logits and probabilities) for now");
  GraphBuilder g;
  std::string x = "input";
  if (prep.known()) {
    // (x - mean) / std per channel, broadcast over (1, C, 1, 1): the graph takes pixel / 255.
    std::vector<int64_t> dims{1, static_cast<int64_t>(prep.mean.size())};
    if (in.rank() == 3) dims.insert(dims.end(), {1, 1});
    x = g.node("Sub", {x, g.initializer("norm.mean", dims, prep.mean)});
    x = g.node("Div", {x, g.initializer("norm.std", dims, prep.std)});
  }
  const std::string y = g.layer(model.net(), x, batched, "");
  g.node("Identity", {y}, {}, "logits");
  g.node("Softmax", {"logits"}, {attr_int("axis", 1)}, "probabilities");
  g.graph.bytes(2, graph_name);
  g.graph.message(11, value_info("input", in_dims));
  g.graph.message(12, value_info("logits", out_dims));
  g.graph.message(12, value_info("probabilities", out_dims));

  Proto opset;
  opset.bytes(1, "").varint(2, 13);
  Proto m;
  m.varint(1, 7).bytes(2, "kiln").bytes(3, KILN_VERSION).message(7, g.graph).message(8, opset);
  // The class names, one a line, as metadata (kiln's importer reads them back).
  std::string names;
  for (const auto& c : prep.class_names) names += (names.empty() ? "" : "\n") + c;
  if (!names.empty()) {
    Proto entry;
    entry.bytes(1, "kiln.class_names").bytes(2, names);
    m.message(14, entry);
  }
  return m.str();
}

void export_onnx_file(Model& model, const std::string& graph_name, const std::string& path) {
  write_file_atomic(path, export_onnx(model, graph_name));
}

}  // namespace kiln
