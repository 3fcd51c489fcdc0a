// kiln export: the ONNX file of a model with every exported layer kind passes
// onnx.checker.check_model(full_check=True) (Debian's python3-onnx), and onnxruntime (npm's
// onnxruntime-node, where scripts/test.sh could install it) gives kiln's logits within 1e-5.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "data_files.h"
#include "model/build.h"
#include "onnx/export.h"
#include "tensor/rng.h"

using namespace kiln;
using namespace kiln::testing;

namespace {

// Every layer kind the exporter writes, with batch-norm statistics that are not the defaults.
Model every_layer_model() {
  Model m = build_model(Shape{3, 12, 12},
                        {"conv 6 3x3 pad=1", "bn", "relu", "maxpool 2", "residual { conv 6 3x3 pad=1; bn eps=0.001; leakyrelu 0.2 }",
                         "residual { conv 8 3x3 stride=2 pad=1; tanh }", "avgpool 3 stride=1", "dropout 0.5", "gap", "dense 16", "gelu",
                         "sigmoid", "dense 5", "scale 0.111111"},
                        3);
  Rng rng(11);
  for (const auto& b : m.named_buffers()) {
    Tensor t = b.value;
    for (int64_t i = 0; i < t.numel(); ++i)
      t[i] = static_cast<Real>(b.name.find("var") != std::string::npos ? 0.5 + rng.uniform() : rng.uniform() - 0.5);
  }
  m.set_preprocessing({{0.4f, 0.5f, 0.6f}, {0.2f, 0.3f, 0.25f}, {"a", "b", "c", "d", "e"}, "folder"});
  return m;
}

bool have(const std::string& cmd) { return std::system((cmd + " > /dev/null 2>&1").c_str()) == 0; }

}  // namespace

TEST(OnnxExport, PassesTheFullCheckOfOnnxChecker) {
  if (!have("/usr/bin/python3 -c 'import onnx'"))
    GTEST_SKIP() << "python3-onnx is not installed (apt-get install python3-onnx): the checker cannot run";
  TempDir dir;
  Model m = every_layer_model();
  export_onnx_file(m, "every-layer", dir / "m.onnx");
  const std::string check = "/usr/bin/python3 -c \"import onnx, sys; m = onnx.load(sys.argv[1]); "
                            "onnx.checker.check_model(m, full_check=True); "
                            "assert m.opset_import[0].version >= 13; "
                            "o = m.graph.output[0].type.tensor_type.shape.dim; assert o[1].dim_value == 5, o\" " +
                            dir / "m.onnx";
  EXPECT_EQ(std::system(check.c_str()), 0) << check;
  // A corrupted file is refused by the same check: the check can fail.
  std::string bytes = export_onnx(m, "x");
  bytes.resize(bytes.size() / 2);
  write_bytes(dir / "cut.onnx", bytes);
  const std::string bad = "/usr/bin/python3 -c \"import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)\" " +
                          dir / "cut.onnx" + " 2> /dev/null";
  EXPECT_NE(std::system(bad.c_str()), 0);
}

TEST(OnnxExport, OnnxruntimeGivesKilnsLogits) {
  // scripts/test.sh installs onnxruntime-node into build/npm where npm reaches its registry.
  const char* env = std::getenv("KILN_ORT_DIR");
  const std::string ort = env ? env : std::string(KILN_SOURCE_DIR) + "/build/npm";
  if (!have("command -v node"))
    GTEST_SKIP() << "node is not installed: onnxruntime-node cannot run (the comparison needs npm's onnxruntime-node)";
  if (!std::filesystem::exists(ort + "/node_modules/onnxruntime-node"))
    GTEST_SKIP() << "onnxruntime-node is not in " << ort << "/node_modules (scripts/test.sh installs it with npm where "
                 << "the registry is reachable; or set KILN_ORT_DIR)";
  TempDir dir;
  Model m = every_layer_model();
  export_onnx_file(m, "every-layer", dir / "m.onnx");
  // Four images of pixels in [0, 1]; kiln's logits on their normalised values.
  const int64_t n = 4, per = 3 * 12 * 12;
  std::vector<float> raw(static_cast<size_t>(n * per));
  Rng rng(5);
  for (auto& v : raw) v = static_cast<float>(rng.uniform());
  Tensor x(Shape{n, 3, 12, 12});
  const float mean[3] = {0.4f, 0.5f, 0.6f}, sd[3] = {0.2f, 0.3f, 0.25f};
  for (int64_t i = 0; i < n * per; ++i) {
    const int64_t c = (i / 144) % 3;
    x[i] = static_cast<Real>((raw[static_cast<size_t>(i)] - mean[c]) / sd[c]);
  }
  Pass pass;
  pass.backward = false;
  const Tensor& y = m.forward(x, pass);
  std::vector<float> logits(static_cast<size_t>(y.numel()));
  for (int64_t i = 0; i < y.numel(); ++i) logits[static_cast<size_t>(i)] = static_cast<float>(y[i]);
  write_bytes(dir / "input.f32", Bytes(reinterpret_cast<const char*>(raw.data()), raw.size() * 4));
  write_bytes(dir / "logits.f32", Bytes(reinterpret_cast<const char*>(logits.data()), logits.size() * 4));
  write_bytes(dir / "shape.txt", "4 3 12 12\n");
  const std::string cmd = "NODE_PATH=" + ort + "/node_modules node " + std::string(KILN_SOURCE_DIR) +
                          "/tests/onnx_compare.js " + dir / "m.onnx" + " " + dir.path();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}
