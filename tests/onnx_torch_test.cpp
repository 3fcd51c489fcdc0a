// ONNX import of what PyTorch writes: tests/torch_onnx_models.py exports the seed CNNs, an MLP
// (BatchNorm1d, MatMul + Add) and a small ResNet with BN (folded into the convolutions, and
// kept as BatchNormalization nodes) with torch.onnx.export at opsets 13-17, with a batch of
// inputs and torch's outputs; kiln imports each and gives those outputs within float32 noise:
// |kiln - torch| <= 1e-5 + 1e-5 |torch| per logit. Operators kiln lacks are named in the error.
// Skips, saying so, where /usr/bin/python3 has no torch (Debian python3-torch).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "model/build.h"
#include "onnx/import.h"
#include "data_files.h"
#include "image_files.h"
#include "tensor/files.h"

using namespace kiln;

namespace {

bool have(const std::string& cmd) { return std::system((cmd + " > /dev/null 2>&1").c_str()) == 0; }

std::vector<float> floats(const std::string& path) {
  const std::string b = read_file(path, "test data");
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

std::vector<std::string> lines(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(f, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// Runs a command, its stdout and stderr in `log`; the exit status.
int run(const std::string& cmd, const std::string& log) { return std::system((cmd + " > " + log + " 2>&1").c_str()); }

// Model m's outputs on the inputs saved beside `base`, against torch's.
double expect_torchs_outputs(Model& m, const std::string& base) {
  std::istringstream shape(read_file(base + ".shape", "shape"));
  std::vector<int64_t> dims;
  for (int64_t d; shape >> d;) dims.push_back(d);
  const std::vector<float> in = floats(base + ".in.f32"), want = floats(base + ".out.f32");
  Tensor x{Shape(dims)};
  EXPECT_EQ(static_cast<size_t>(x.numel()), in.size());
  if (static_cast<size_t>(x.numel()) != in.size()) return 1e30;
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(in[static_cast<size_t>(i)]);
  Pass pass;
  pass.backward = false;
  const Tensor& y = m.forward(x, pass);
  EXPECT_EQ(static_cast<size_t>(y.numel()), want.size());
  if (static_cast<size_t>(y.numel()) != want.size()) return 1e30;
  double worst = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    const double t = want[static_cast<size_t>(i)], d = std::abs(static_cast<double>(y[i]) - t);
    EXPECT_LE(d, 1e-5 + 1e-5 * std::abs(t)) << "logit " << i;
    worst = std::max(worst, d);
  }
  return worst;
}


class OnnxTorch : public ::testing::Test {
 protected:
  // One export of every model for the suite (torch starts in seconds).
  static void SetUpTestSuite() {
    if (!have("/usr/bin/python3 -c 'import torch'")) {
      skip_ = "torch is not installed for /usr/bin/python3 (apt-get install python3-torch): PyTorch's exports cannot be made";
      return;
    }
    dir_ = (std::filesystem::temp_directory_path() / ("kiln-onnx-torch-" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(dir_);
    const std::string cmd = "/usr/bin/python3 " + std::string(KILN_SOURCE_DIR) + "/tests/torch_onnx_models.py " + dir_ + " > " +
                            dir_ + "/log 2>&1";
    if (std::system(cmd.c_str()) != 0) failed_ = cmd + " failed: " + read_file(dir_ + "/log", "log");
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_TRUE(failed_.empty()) << failed_;
  }
  static std::string dir_, skip_, failed_;
};
std::string OnnxTorch::dir_, OnnxTorch::skip_, OnnxTorch::failed_;

}  // namespace

TEST_F(OnnxTorch, EveryExportedModelGivesTorchsOutputs) {
  const auto names = lines(dir_ + "/models.txt");
  ASSERT_EQ(names.size(), 6u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string base = dir_ + "/" + name;
    Model m = import_onnx_file(base + ".onnx");
    // Where the export keeps the layers, kiln's twin of the architecture has the same parameters.
    if (std::filesystem::exists(base + ".kiln")) {
      EXPECT_EQ(m.param_count(), build_model(m.input_shape(), lines(base + ".kiln"), 0).param_count());
    }
    const double worst = expect_torchs_outputs(m, base);
    std::printf("  %-22s input %-14s max |kiln - torch| %.2e\n", name.c_str(), m.input_shape().str().c_str(), worst);
  }
}

TEST_F(OnnxTorch, OperatorsKilnLacksAreNamedInTheError) {
  const auto cases = lines(dir_ + "/unsupported.txt");
  ASSERT_EQ(cases.size(), 3u);
  for (const std::string& c : cases) {
    const std::string name = c.substr(0, c.find('\t')), want = c.substr(c.find('\t') + 1);
    std::string got = "(no error)";
    try {
      import_onnx_file(dir_ + "/" + name + ".onnx");
    } catch (const Error& e) {
      got = e.what();
    }
    EXPECT_NE(got.find(want), std::string::npos) << got;
    if (name == "softplus") {  // and lists what is supported
      EXPECT_NE(got.find("it reads Conv, Gemm"), std::string::npos) << got;
    }
  }
}

TEST_F(OnnxTorch, TheStateDictConverterWritesWeightsGivingTorchsOutputs) {
  const std::string tool = "/usr/bin/python3 " + std::string(KILN_SOURCE_DIR) + "/tools/torch_state_dict_to_kiln.py ";
  const std::string kiln = std::string(" --kiln ") + KILN_CLI_PATH, log = dir_ + "/convert.log";
  // The shipped MNIST experiment's architecture, from the experiment file itself.
  ASSERT_EQ(run(tool + dir_ + "/ckpt_mnist_cnn.pt " + KILN_SOURCE_DIR + "/configs/mnist_cnn.toml " + dir_ + "/mnist.kiln" + kiln, log), 0)
      << read_file(log, "log");
  Model mnist = load_model(dir_ + "/mnist.kiln");
  expect_torchs_outputs(mnist, dir_ + "/ckpt_mnist_cnn");
  // The ResNet (BN statistics, an identity and a projection skip) from --layers.
  const std::string layers = lines(dir_ + "/ckpt_resnet.layers").at(0);
  ASSERT_EQ(run(tool + dir_ + "/ckpt_resnet.pt --layers '" + layers + "' --input 3,16,16 " + dir_ + "/resnet.kiln" + kiln, log), 0)
      << read_file(log, "log");
  Model resnet = load_model(dir_ + "/resnet.kiln");
  expect_torchs_outputs(resnet, dir_ + "/ckpt_resnet");
  EXPECT_EQ(resnet.param_count(), build_model(Shape{3, 16, 16}, lines(dir_ + "/resnet_bn_nodes.kiln"), 0).param_count());
  // A checkpoint of another architecture: an error naming the tensors.
  EXPECT_NE(run(tool + dir_ + "/ckpt_mnist_cnn.pt " + KILN_SOURCE_DIR + "/configs/cifar10_cnn.toml " + dir_ + "/bad.kiln" + kiln, log), 0);
  EXPECT_NE(read_file(log, "log").find("tensor 'conv1.weight' is (16, 1, 5, 5), the layers' '0.weight' is (16, 3, 5, 5)"),
            std::string::npos)
      << read_file(log, "log");
}

TEST_F(OnnxTorch, EvalPredictAndTrainInitTakeATorchExport) {
  // The MNIST CNN's export: kiln eval on idx files, kiln predict on a PNG, kiln train --init.
  const std::string d = dir_ + "/cli", kiln = std::string(KILN_CLI_PATH) + " ", log = dir_ + "/cli.log";
  std::filesystem::create_directories(d);
  kiln::testing::write_bytes(d + "/train-images-idx3-ubyte", kiln::testing::idx_images(20, 28, 28));
  kiln::testing::write_bytes(d + "/train-labels-idx1-ubyte", kiln::testing::idx_labels(20));
  kiln::testing::write_bytes(d + "/t10k-images-idx3-ubyte", kiln::testing::idx_images(10, 28, 28));
  kiln::testing::write_bytes(d + "/t10k-labels-idx1-ubyte", kiln::testing::idx_labels(10));
  const std::string onnx = dir_ + "/mnist_cnn.onnx";
  ASSERT_EQ(run(kiln + "eval " + onnx + " --dataset idx --data " + d, log), 0) << read_file(log, "log");
  EXPECT_NE(read_file(log, "log").find("accuracy"), std::string::npos) << read_file(log, "log");
  kiln::testing::write_png(d + "/a.png", kiln::testing::pattern_image(28, 28, 3));
  ASSERT_EQ(run(kiln + "predict " + onnx + " " + d + "/a.png --top 2", log), 0) << read_file(log, "log");
  EXPECT_NE(read_file(log, "log").find("a.png"), std::string::npos) << read_file(log, "log");
  std::ofstream(d + "/exp.toml") << "name = \"finetune\"\n[data]\ndataset = \"idx\"\ndir = \"" << d
                                 << "\"\n[model]\nlayers = [\"conv 16 5x5 pad=2\", \"relu\", \"maxpool 2\", \"conv 16 5x5 pad=2\", "
                                    "\"relu\", \"maxpool 2\", \"dense 10\"]\n[train]\nepochs = 1\nbatch_size = 10\n";
  ASSERT_EQ(run(kiln + "train " + d + "/exp.toml --init " + onnx + " --runs " + d + "/runs --no-progress --threads 1", log), 0)
      << read_file(log, "log");
}
