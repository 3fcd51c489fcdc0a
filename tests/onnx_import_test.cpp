// ONNX import: what kiln exports comes back as the same model (logits, normalisation, class
// names); what it cannot take (a branch, an unknown operator, a cut file) is an error naming it.
#include <gtest/gtest.h>

#include "model/build.h"
#include "onnx/export.h"
#include "onnx/import.h"
#include "onnx/proto.h"
#include "tensor/rng.h"

using namespace kiln;

namespace {

std::vector<float> logits_of(Model& m, const Tensor& x) {
  Pass pass;
  pass.backward = false;
  const Tensor& y = m.forward(x, pass);
  std::vector<float> out;
  for (int64_t i = 0; i < y.numel(); ++i) out.push_back(static_cast<float>(y[i]));
  return out;
}

std::string import_error(const std::string& bytes) {
  try {
    import_onnx(bytes, "t.onnx");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(OnnxImport, AnExportedChainComesBackWithTheSameLogitsNormalisationAndClasses) {
  Model m = build_model(Shape{3, 10, 10},
                        {"conv 5 3x3 pad=1", "bn eps=0.001", "relu", "maxpool 2", "conv 6 3x3 stride=2 pad=1 bias=false",
                         "leakyrelu 0.2", "avgpool 2 stride=1", "flatten", "dropout 0.3", "dense 12", "tanh", "dense 4",
                         "sigmoid", "dense 3", "scale -0.25"},
                        5);
  Rng rng(2);
  for (const auto& b : m.named_buffers()) {
    Tensor t = b.value;
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<Real>(b.name.find("var") != std::string::npos ? 0.5 + rng.uniform() : rng.uniform());
  }
  m.set_preprocessing({{0.1f, 0.2f, 0.3f}, {0.5f, 0.6f, 0.7f}, {"x", "y", "z"}, "folder"});
  Model back = import_onnx(export_onnx(m, "t"), "t.onnx");
  EXPECT_EQ(back.input_shape(), m.input_shape());
  EXPECT_EQ(back.preprocessing().class_names, m.preprocessing().class_names);
  EXPECT_EQ(back.preprocessing().mean, m.preprocessing().mean);
  EXPECT_EQ(back.preprocessing().std, m.preprocessing().std);
  ASSERT_EQ(back.param_count(), m.param_count());
  Tensor x(Shape{2, 3, 10, 10});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform() * 2 - 1);
  const auto a = logits_of(m, x), b = logits_of(back, x);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5) << i;
}

TEST(OnnxImport, ResidualBlocksComeBackWithTheirSkipPaths) {
  // An identity skip, a projection where the body changes the shape, and a forced projection.
  const std::vector<std::string> specs = {"residual { conv 2 3x3 pad=1; relu }", "residual { conv 4 3x3 stride=2 pad=1; bn; relu; residual { conv 4 3x3 pad=1 } }",
                                          "residual proj { conv 4 3x3 pad=1 }", "flatten", "dense 2"};
  Model res = build_model(Shape{2, 6, 6}, specs, 1);
  Model back = import_onnx(export_onnx(res, "r"), "r.onnx");
  ASSERT_EQ(back.param_count(), res.param_count());
  EXPECT_NE(back.net().spec().find("; residual proj { conv 4 3x3 pad=1 }; flatten"), std::string::npos) << back.net().spec();
  Tensor x(Shape{2, 2, 6, 6});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>((i * 37) % 11) / 11 - Real(0.5);
  const auto a = logits_of(res, x), b = logits_of(back, x);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5) << i;
}

TEST(OnnxImport, UnknownOperatorsAndCutFilesAreErrorsNamingThem) {
  Model res = build_model(Shape{2, 6, 6}, {"residual { conv 2 3x3 pad=1; relu }", "flatten", "dense 2"}, 1);
  EXPECT_NE(import_error(export_onnx(res, "r").substr(0, 40)).find("not a valid ONNX file"), std::string::npos);
  // A graph of one Erf node.
  onnx::Proto dim1, dim2, shape, tensor, type, input, node, graph, model;
  dim1.bytes(2, "N");
  dim2.varint(1, 4);
  shape.message(1, dim1).message(1, dim2);
  tensor.varint(1, 1).message(2, shape);
  type.message(1, tensor);
  input.bytes(1, "input").message(2, type);
  node.bytes(1, "input").bytes(2, "y").bytes(3, "erf").bytes(4, "Erf");
  graph.message(1, node).message(11, input);
  model.varint(1, 7).message(7, graph);
  EXPECT_NE(import_error(model.str()).find("operator Erf (node 'erf') is not supported"), std::string::npos);
}

TEST(OnnxImport, ImportedWeightsStartAModelOfTheSameShapes) {
  // What `kiln train --init MODEL.onnx` does: the experiment's model takes the file's tensors.
  Model m = build_model(Shape{1, 6, 6}, {"conv 3 3x3 pad=1", "bn", "relu", "flatten", "dense 2"}, 4);
  Model back = import_onnx(export_onnx(m, "t"), "t.onnx");
  Model fresh = build_model(Shape{1, 6, 6}, {"conv 3 3x3 pad=1", "bn", "relu", "flatten", "dense 2"}, 99);
  fresh.copy_weights_from(back, "t.onnx");
  Tensor x(Shape{1, 1, 6, 6});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(i % 7) / 7;
  const auto a = logits_of(m, x), b = logits_of(fresh, x);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6);
  Model other = build_model(Shape{1, 6, 6}, {"conv 4 3x3 pad=1", "bn", "relu", "flatten", "dense 2"}, 1);
  try {
    other.copy_weights_from(back, "t.onnx");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t.onnx: tensor"), std::string::npos) << e.what();
  }
}
