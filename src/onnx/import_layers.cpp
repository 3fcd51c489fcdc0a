#include "onnx/import_layers.h"

#include <algorithm>
#include <sstream>

#include "model/build.h"
#include "onnx/shape_fold.h"

namespace kiln::onnx {

const char* const kSupportedOps =
    "Conv, Gemm, MatMul (with an Add of its bias), Relu, LeakyRelu, Tanh, Sigmoid, MaxPool, AveragePool, "
    "GlobalAveragePool, BatchNormalization (inference), Flatten, Reshape (a flatten of the batch; its target folded from "
    "constants and Shape, Gather, Unsqueeze, Squeeze, Concat, Cast), Add of two branches from one tensor (a residual "
    "block), Dropout, Identity, a final Softmax or LogSoftmax, Mul by a one-value constant (a scale layer), and Sub/Div by constants before the first layer";

namespace {

std::string fmt(float v) {
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

// kiln's shape after one layer spec.
Shape after(const Shape& in, const std::string& spec) { return build_model(in, {spec}, 0).output_shape(); }

}  // namespace

std::string joined(const std::vector<std::string>& specs, const std::string& sep) {
  std::string s;
  for (const auto& p : specs) s += (s.empty() ? "" : sep) + p;
  return s;
}

bool is_projection(const Emitted& path) {
  if (path.specs.size() != 1) return false;
  const std::string& s = path.specs[0];
  return s.rfind("conv ", 0) == 0 && s.find(" 1x1 ") != std::string::npos && s.find(" pad=0 bias=false") != std::string::npos;
}

void check_projection(const Emitted& path, const Shape& in, const Shape& body_out, const Shape& skip_out,
                      const std::string& join, const std::string& what) {
  const std::string& s = path.specs[0];
  const std::string at = what + ": the residual block joined at Add '" + join + "'";
  if (skip_out != body_out) throw Error(at + " adds " + body_out.str() + " to " + skip_out.str() + " (kiln adds tensors of one shape)");
  if (in.rank() != 3) throw Error(at + ": a projection skip needs image input, got " + in.str());
  const int64_t stride = in[1] / body_out[1];
  if (s.find(" stride=" + std::to_string(stride) + " ") == std::string::npos)
    throw Error(at + ": its projection '" + s + "' maps " + in.str() + " to " + body_out.str() + "; kiln's projection has stride " +
                std::to_string(stride) + " (the input's height over the output's)");
}

void Mapper::fail(const Node& n, const std::string& msg) const {
  throw Error(what_ + ": " + n.op + " node '" + n.name + "': " + msg);
}

const Constant* Mapper::constant(const Node& n, size_t k) const {
  if (k >= n.inputs.size() || n.inputs[k].empty()) return nullptr;
  const auto it = g_.constants.find(n.inputs[k]);
  if (it == g_.constants.end()) fail(n, "input '" + n.inputs[k] + "' is not a constant (kiln's layers take their weights from the file)");
  return &it->second;
}

void Mapper::walked(const Cursor& cur, const std::string& like) {
  const auto it = dims_.find(like);
  if (it != dims_.end()) {
    dims_[cur.tensor] = it->second;
    return;
  }
  const auto d = cur.shape.dims();
  dims_[cur.tensor] = std::vector<int64_t>(d.begin(), d.end());
}

// A Reshape kiln can take is a flatten of the batch: (N, ...) -> (N, the product of the rest).
bool Mapper::reshape(const Node& n, const Cursor& cur) {
  if (n.inputs.size() < 2) fail(n, "no target shape");
  const DimsOf dims_of = [&](const std::string& t) {
    const auto it = dims_.find(t);
    if (it == dims_.end()) throw Error(what_ + ": a Shape of '" + t + "', which is not a tensor on the model's path");
    std::vector<int64_t> d{kBatch};
    d.insert(d.end(), it->second.begin(), it->second.end());
    return d;
  };
  const Folded t = fold(g_, n.inputs[1], dims_of, folded_, what_);
  const int64_t features = cur.shape.numel();
  // The batch is N itself, the input's declared size, or 0 (ONNX: copy the input's dim).
  const bool batch = !t.v.empty() && (t.v[0] == kBatch || (batch_ > 0 && t.v[0] == batch_) || t.v[0] == 0);
  const bool flat = t.v.size() == 2 && ((batch && (t.v[1] == -1 || t.v[1] == features)) || (t.v[0] == -1 && t.v[1] == features));
  if (!flat)
    fail(n, "reshapes (N, " + cur.shape.str() + ") to " + folded_str(t) +
             ", which is not a flatten of the batch to (N, " + std::to_string(features) + ") (kiln's Reshape is its flatten)");
  return cur.shape.rank() > 1;
}

void Mapper::step(const Node& n, Cursor& cur, Emitted& out, bool top) {
  const std::string& op = n.op;
  if (n.outputs.empty()) fail(n, "no output");
  // Add (a MatMul's bias) may take its constant first; every other node takes the data first.
  const bool data_first = !n.inputs.empty() && n.inputs[0] == cur.tensor;
  if (!data_first && !(op == "Add" && n.inputs.size() == 2 && n.inputs[1] == cur.tensor))
    fail(n, "takes '" + cur.tensor + "' as input " + (n.inputs.size() > 1 && n.inputs[1] == cur.tensor ? "2" : "> 1") +
                 " (kiln's layers take the data first)");
  const size_t end = op == "Reshape" ? 1 : n.inputs.size();  // Reshape's target is folded
  for (size_t k = 0; k < end; ++k)
    if (k != (data_first ? 0 : 1) && !n.inputs[k].empty()) constant(n, k);
  const bool from_matmul = out.from_matmul;
  out.from_matmul = false;
  std::string spec;
  std::vector<const Constant*> w;
  std::vector<int64_t> dims;  // ONNX's dims where kiln's shape differs (GlobalAveragePool)
  if ((op == "Sub" || op == "Div") && top && !any_layer_) {
    (op == "Sub" ? mean_ : sd_) = constant(n, 1)->values;
  } else if (op == "Conv") {
    const Constant* wt = constant(n, 1);
    const Constant* b = constant(n, 2);
    const auto pads = n.attr("pads").ints, st = n.attr("strides").ints;
    if (wt->dims.size() != 4 || (n.attr("group").i != 0 && n.attr("group").i != 1)) fail(n, "only 2-D convolutions without groups");
    for (int64_t d : n.attr("dilations").ints)
      if (d != 1) fail(n, "dilations are not supported");
    const int64_t p = pads.empty() ? 0 : pads[0], s = st.empty() ? 1 : st[0];
    for (int64_t q : pads)
      if (q != p) fail(n, "asymmetric pads are not supported");
    if (st.size() == 2 && st[1] != s) fail(n, "unequal strides are not supported");
    spec = "conv " + std::to_string(wt->dims[0]) + " " + std::to_string(wt->dims[2]) + "x" + std::to_string(wt->dims[3]) +
           " stride=" + std::to_string(s) + " pad=" + std::to_string(p) + (b ? "" : " bias=false");
    w = b ? std::vector<const Constant*>{wt, b} : std::vector<const Constant*>{wt};
  } else if (op == "Gemm" || op == "MatMul") {
    const Constant* wt = constant(n, 1);
    const Constant* b = op == "Gemm" ? constant(n, 2) : nullptr;
    if (n.attr("transA").i != 0) fail(n, "transA is not supported");
    if ((n.has("alpha") && n.attr("alpha").f != 1.f) || (n.has("beta") && n.attr("beta").f != 1.f))
      fail(n, "alpha and beta other than 1 are not supported");
    if (wt->dims.size() != 2) fail(n, "the weight is not a matrix");
    if (cur.shape.rank() != 1) fail(n, "takes (N, " + cur.shape.str() + "): kiln's dense layer takes (N, features)");
    if (b && b->values.size() != static_cast<size_t>(n.attr("transB").i ? wt->dims[0] : wt->dims[1]))
      fail(n, "a bias of " + std::to_string(b->values.size()) + " values (kiln's bias has one per output)");
    if (op == "MatMul" || n.attr("transB").i == 0) {  // (in, out): kiln's dense keeps (out, in)
      const int64_t I = wt->dims[0], O = wt->dims[1];
      Constant t{{O, I}, std::vector<float>(wt->values.size()), {}, false};
      for (int64_t i = 0; i < I; ++i)
        for (int64_t o = 0; o < O; ++o) t.values[static_cast<size_t>(o * I + i)] = wt->values[static_cast<size_t>(i * O + o)];
      wt = &derived_.emplace_back(std::move(t));
    }
    spec = "dense " + std::to_string(wt->dims[0]) + (b ? "" : " bias=false");
    w = b ? std::vector<const Constant*>{wt, b} : std::vector<const Constant*>{wt};
    out.from_matmul = op == "MatMul";
  } else if (op == "Add") {
    const Constant* b = constant(n, data_first ? 1 : 0);
    const std::string last = out.specs.empty() ? "" : out.specs.back();
    if (!from_matmul || b->values.size() != static_cast<size_t>(cur.shape.numel()))
      fail(n, "adds a constant, which kiln takes only as the bias of the MatMul before it (one value per output)");
    out.specs.back() = last.substr(0, last.size() - std::string(" bias=false").size());
    out.leaves.back().push_back(b);
  } else if (op == "Relu" || op == "Tanh" || op == "Sigmoid") {
    spec = op == "Relu" ? "relu" : op == "Tanh" ? "tanh" : "sigmoid";
  } else if (op == "LeakyRelu") {
    spec = "leakyrelu " + fmt(n.has("alpha") ? n.attr("alpha").f : 0.01f);
  } else if (op == "Mul") {
    const Constant* f = constant(n, 1);
    if (f->values.size() != 1) fail(n, "multiplies by " + std::to_string(f->values.size()) + " values (kiln's scale takes one)");
    spec = "scale " + fmt(f->values[0]);
  } else if (op == "MaxPool" || op == "AveragePool") {
    const auto ks = n.attr("kernel_shape").ints, st = n.attr("strides").ints;
    for (int64_t q : n.attr("pads").ints)
      if (q != 0) fail(n, "padding is not supported");
    for (int64_t d : n.attr("dilations").ints)
      if (d != 1) fail(n, "dilations are not supported");
    if (n.attr("ceil_mode").i != 0) fail(n, "ceil_mode is not supported");
    if (ks.size() != 2 || ks[0] != ks[1]) fail(n, "only square 2-D windows");
    const int64_t s = st.empty() ? 1 : st[0];
    if (st.size() == 2 && st[1] != s) fail(n, "unequal strides are not supported");
    spec = std::string(op == "MaxPool" ? "maxpool " : "avgpool ") + std::to_string(ks[0]) + " stride=" + std::to_string(s);
  } else if (op == "GlobalAveragePool") {
    if (cur.shape.rank() != 3) fail(n, "takes " + cur.shape.str() + " (kiln's gap takes images)");
    spec = "gap";
    dims = {cur.shape[0], 1, 1};
  } else if (op == "Flatten") {
    if (n.has("axis") && n.attr("axis").i != 1) fail(n, "only axis=1 (kiln's flatten keeps the batch)");
    if (cur.shape.rank() > 1) spec = "flatten";
  } else if (op == "Reshape") {
    if (reshape(n, cur)) spec = "flatten";
  } else if (op == "BatchNormalization") {
    if (n.attr("training_mode").i != 0) fail(n, "training_mode=1 (kiln imports the inference form: export in eval mode)");
    spec = n.has("epsilon") ? "bn eps=" + fmt(n.attr("epsilon").f) : "bn";
    w = {constant(n, 1), constant(n, 2), constant(n, 3), constant(n, 4)};
  } else if (op == "Softmax" || op == "LogSoftmax") {
    // kiln's output is the logits before it: only as the last node.
    for (const Node& m : g_.nodes)
      for (const auto& i : m.inputs)
        if (i == n.outputs[0]) fail(n, "is not the last node (kiln leaves out only a final " + op + ")");
  } else if (op != "Dropout" && op != "Identity") {  // both the identity at inference
    throw Error(what_ + ": operator " + op + " (node '" + n.name + "') is not supported by kiln's importer (it reads " +
                kSupportedOps + ")");
  }
  if (!spec.empty()) {
    cur.shape = after(cur.shape, spec);
    out.specs.push_back(spec);
    out.leaves.push_back(w);
  }
  if (op != "Sub" && op != "Div" && op != "Dropout" && op != "Identity") any_layer_ = true;
  cur.tensor = n.outputs[0];
  if (!dims.empty()) dims_[cur.tensor] = dims;
  else walked(cur, op == "Dropout" || op == "Identity" || op == "Softmax" || op == "LogSoftmax" ? n.inputs[0] : "");
}

}  // namespace kiln::onnx
