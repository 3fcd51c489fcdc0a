// Whole networks on the GPU (forward, backward, a finite-difference gradient check, graph
// replay against eager steps, the caching allocator, a tiny training run), each against the
// CPU backend; and, where there is no GPU, the errors a user gets instead.
#include <gtest/gtest.h>

#include <filesystem>

#include "op_harness.h"
#include "config/experiment.h"
#include "gradcheck/gradcheck.h"
#include "loss/loss.h"
#include "model/build.h"
#include "optim/optimizer.h"
#include "../synthetic_idx.h"
#include "train/step.h"
#include "train/trainer.h"

#ifdef KILN_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

using namespace kiln;
using namespace kiln::testing;

namespace {

// ---------------------------------------------------------------------------------------------
// Whole networks on the GPU.

Tensor random_batch(const Shape& sample, int64_t n, uint64_t seed) {
  std::vector<int64_t> d{n};
  for (int64_t v : sample.dims()) d.push_back(v);
  Tensor x{Shape(d)};
  Rng rng(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
  return x;
}

std::vector<int32_t> random_labels(int64_t n, int32_t classes, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> y(static_cast<size_t>(n));
  for (auto& v : y) v = static_cast<int32_t>(rng.below(static_cast<uint64_t>(classes)));
  return y;
}

std::vector<double> host_values(const Tensor& t) {
  Tensor h = t.to(Device::cpu);
  return std::vector<double>(h.data(), h.data() + h.numel());
}

// Exact fp32 GEMMs on `device` for a scope: TF32 is the CUDA backend's default, and these tests
// compare with the CPU under fp32 tolerances (the op suite checks TF32 against its own bounds).
struct Fp32Gemms {
  explicit Fp32Gemms(Device d) : be(backend(d)), was(be.set_tf32(false)) {}
  ~Fp32Gemms() { be.set_tf32(was); }
  Fp32Gemms(const Fp32Gemms&) = delete;
  Fp32Gemms& operator=(const Fp32Gemms&) = delete;
  Backend& be;
  bool was;
};

// Every kind of layer: a conv with its ReLU fused, max pooling, a strided conv with batch norm,
// a residual block, dropout, global average pooling and a dense layer.
const std::vector<std::string> kNet = {"conv 6 3x3 pad=1", "relu", "maxpool 2", "conv 8 3x3 stride=2 pad=1", "bn", "relu",
                                       "residual { conv 8 3x3 pad=1; bn; relu }", "dropout 0.25", "gap", "dense 5"};
const Shape kNetInput{3, 12, 12};

TEST(BackendCuda, NetworkForwardBackwardMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  const Fp32Gemms fp32(Device::cuda);
  Model cpu = build_model(kNetInput, kNet, 7), gpu = build_model(kNetInput, kNet, 7);
  gpu.to(Device::cuda);
  const Tensor x = random_batch(kNetInput, 5, 3);
  const Tensor xg = x.to(Device::cuda);
  const auto labels = random_labels(5, 5, 4);
  SoftmaxCrossEntropy lc, lg;
  for (Mode mode : {Mode::train, Mode::eval}) {
    SCOPED_TRACE(mode == Mode::train ? "train" : "eval");
    const Pass pass{mode, 11, 3};
    cpu.zero_grad();
    gpu.zero_grad();
    const Tensor& oc = cpu.forward(x, pass);
    const Tensor& og = gpu.forward(xg, pass);
    Tensor dc(oc.shape()), dg(og.shape(), Device::cuda);
    const double Lc = lc.forward_backward(oc, {labels}, &dc), Lg = lg.forward_backward(og, {labels}, &dg);
    cpu.backward(dc);
    gpu.backward(dg);
    EXPECT_NEAR(Lg, Lc, 1e-5 * std::abs(Lc));
    EXPECT_LE(normwise_error(host_values(og), host_values(oc)), 1e-4);
    EXPECT_LE(normwise_error(host_values(gpu.grads()), host_values(cpu.grads())), 1e-4);
    for (size_t i = 0; i < cpu.named_buffers().size(); ++i)
      EXPECT_LE(normwise_error(host_values(gpu.named_buffers()[i].value), host_values(cpu.named_buffers()[i].value)),
                1e-5)
          << cpu.named_buffers()[i].name;
  }
}

// Central differences (gradcheck.h) of the loss of a small CNN on `device`: the parameters are
// perturbed in a host copy that the loss function uploads before each forward.
GradCheckResult network_gradcheck(Device device) {
  const Fp32Gemms fp32(device);
  Model m = build_model({2, 8, 8},
                        {"conv 4 3x3 pad=1", "tanh", "maxpool 2", "conv 6 3x3 stride=2 pad=1", "bn", "sigmoid", "gap",
                         "dense 3"},
                        3);
  m.to(device);
  const Tensor x = random_batch({2, 8, 8}, 4, 5).to(device);
  const std::vector<int32_t> labels{0, 1, 2, 1};
  const Pass pass{Mode::train, 1, 0};
  SoftmaxCrossEntropy loss;
  m.zero_grad();
  const Tensor& out = m.forward(x, pass);
  Tensor dout(out.shape(), device);
  loss.forward_backward(out, {labels}, &dout);
  m.backward(dout);
  Tensor values = m.params().to(Device::cpu).clone(), grads = m.grads().to(Device::cpu).clone();
  std::vector<GradProbe> probes;
  for (const auto& p : m.named_params()) {
    const int64_t offset = p.value.data() - m.params().data();
    probes.push_back({p.name, values.slice(offset, p.value.shape()), grads.slice(offset, p.value.shape())});
  }
  auto f = [&] {
    m.params().copy_from(values);
    return loss.forward_backward(m.forward(x, pass), {labels}, nullptr);
  };
  GradCheckOptions opt;  // float tolerances
  opt.steps = {1e-2, 3e-3, 1e-3};
  opt.max_elements = 24;
  return check_gradients(f, probes, opt);
}

TEST(BackendNetwork, GradientCheckOnCpu) {  // the GPU test's check, on the reference backend
  const GradCheckResult r = network_gradcheck(Device::cpu);
  EXPECT_TRUE(r.ok) << r.report();
  EXPECT_GT(r.checked, 50);
}

TEST(BackendCuda, NetworkGradientCheck) {
  SKIP_WITHOUT_CUDA();
  const GradCheckResult r = network_gradcheck(Device::cuda);
  EXPECT_TRUE(r.ok) << r.report();
  EXPECT_GT(r.checked, 50);
}

// Training steps replayed from CUDA graphs against the same steps run eagerly: the same
// losses, predictions and parameters, through a short batch (a shape change) and an
// evaluation-like reallocation in the middle.
void graph_matches_eager(const OptimizerConfig& oc) {
  Model a = build_model(kNetInput, kNet, 9), b = build_model(kNetInput, kNet, 9);
  a.to(Device::cuda);
  b.to(Device::cuda);
  auto oa = make_optimizer(oc, a.param_count()), ob = make_optimizer(oc, b.param_count());
  oa->to(Device::cuda);
  ob->to(Device::cuda);
  SoftmaxCrossEntropy la, lb;
  TrainStep sa(a, la, *oa, 21), sb(b, lb, *ob, 21);
  sa.set_graphs(true);
  sb.set_graphs(false);
  const std::vector<int64_t> sizes{8, 8, 8, 8, 5, 8, 8, 8, 8, 8};
  for (size_t i = 0; i < sizes.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    Batch batch;
    batch.x = random_batch(kNetInput, sizes[i], 100 + i);
    batch.y = random_labels(sizes[i], 5, 200 + i);
    const double lr = 0.05 * (1.0 - 0.05 * static_cast<double>(i));
    const auto ra = sa.run(batch, static_cast<int64_t>(i), lr), rb = sb.run(batch, static_cast<int64_t>(i), lr);
    EXPECT_NEAR(ra.loss, rb.loss, 1e-6 * std::max(1.0, std::abs(rb.loss)));
    EXPECT_EQ(ra.correct, rb.correct);
    if (i == 6) {  // memory changes hands between steps (as an evaluation pass does): graphs must be dropped
      Tensor scratch(Shape{12345}, Device::cuda);
      (void)scratch;
    }
  }
  EXPECT_LE(normwise_error(host_values(a.params()), host_values(b.params())), 1e-6);
  const auto& st = sa.graph_stats();
  EXPECT_TRUE(st.disabled.empty()) << st.disabled;
  EXPECT_GE(st.captures, 2);
  EXPECT_GE(st.replays, 4);
  EXPECT_GT(st.forward_nodes, 0);
  EXPECT_GT(st.backward_nodes, 0);
  EXPECT_NE(describe_graph_stats(st).find(std::to_string(st.replays) + " steps replayed"), std::string::npos)
      << describe_graph_stats(st);
  EXPECT_EQ(sb.graph_stats().replays, 0);
}

TEST(BackendCuda, GraphReplayMatchesEagerSgd) {
  SKIP_WITHOUT_CUDA();
  OptimizerConfig c;
  c.momentum = 0.9;
  c.nesterov = true;
  c.weight_decay = 5e-4;
  graph_matches_eager(c);
}

TEST(BackendCuda, GraphReplayMatchesEagerAdamW) {
  SKIP_WITHOUT_CUDA();
  OptimizerConfig c;
  c.name = "adamw";
  c.weight_decay = 0.01;
  graph_matches_eager(c);
}

#ifdef KILN_WITH_CUDA
TEST(BackendCuda, CachingAllocatorReusesMemory) {
  SKIP_WITHOUT_CUDA();
  Model m = build_model(kNetInput, kNet, 1);
  m.to(Device::cuda);
  auto opt = make_optimizer(OptimizerConfig{}, m.param_count());
  opt->to(Device::cuda);
  SoftmaxCrossEntropy loss;
  TrainStep step(m, loss, *opt, 1);
  Batch batch;
  batch.x = random_batch(kNetInput, 16, 1);
  batch.y = random_labels(16, 5, 2);
  step.run(batch, 0, 0.01);
  step.run(batch, 1, 0.01);
  const cuda::MemoryStats before = cuda::memory_stats();
  for (int i = 2; i < 12; ++i) step.run(batch, i, 0.01);
  const cuda::MemoryStats after = cuda::memory_stats();
  EXPECT_EQ(after.device_mallocs, before.device_mallocs) << "steady-state steps called cudaMalloc";
  EXPECT_EQ(after.in_use, before.in_use);
  EXPECT_GT(after.peak_in_use, 0);
  EXPECT_GE(after.reserved, after.in_use);
  // Freed tensors come back from the cache.
  { Tensor t(Shape{1 << 20}, Device::cuda); }
  const int64_t mallocs = cuda::memory_stats().device_mallocs;
  { Tensor t(Shape{1 << 20}, Device::cuda); }
  EXPECT_EQ(cuda::memory_stats().device_mallocs, mallocs);
  EXPECT_NE(backend(Device::cuda).describe().find("peak"), std::string::npos);
}
#endif

TEST(BackendCuda, TrainsTinyDatasetOnGpu) {
  SKIP_WITHOUT_CUDA();
  const std::string dir = kiln::testing::make_synthetic_idx("cuda-train");
  const std::string text = "name = \"tiny\"\nseed = 3\n[data]\ndataset = \"idx\"\ndir = \"" + dir +
                           "\"\n[model]\nlayers = [\"conv 4 3x3 pad=1\", \"relu\", \"maxpool 2\", \"conv 8 3x3 pad=1\", "
                           "\"bn\", \"relu\", \"gap\", \"dropout 0.1\", \"dense 4\"]\n[optimizer]\nname = \"sgd\"\nlr = "
                           "0.05\nmomentum = 0.9\n[train]\nbatch_size = 16\nepochs = 6\ndevice = \"cuda\"\n";
  TrainOptions o;
  o.runs_dir = dir + "/runs";
  o.progress = o.epoch_lines = o.write_report = false;
  const RunResult r = train(parse_experiment(text, "tiny.toml"), o);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(r.status, RunResult::Status::completed) << r.message;
  EXPECT_GT(r.test_accuracy, 0.9);
}

// ---------------------------------------------------------------------------------------------
// Without a GPU (or without the CUDA backend): clear errors, no crash.

TEST(BackendNoGpu, CudaRequestsFailWithAClearError) {
  if (device_available(Device::cuda)) GTEST_SKIP() << "a CUDA device is present";
  std::string msg;
  try {
    backend(Device::cuda);
  } catch (const Error& e) {
    msg = e.what();
  }
  if (cuda_backend_built()) EXPECT_NE(msg.find("no usable NVIDIA GPU"), std::string::npos) << msg;
  else EXPECT_NE(msg.find("no CUDA backend"), std::string::npos) << msg;
  EXPECT_THROW(Tensor(Shape{4}, Device::cuda), Error);
  EXPECT_THROW(Tensor(Shape{4}).to(Device::cuda), Error);
  TrainConfig t;
  t.device = "cuda";
  EXPECT_THROW(require_device(t.device), Error);
  // Asking twice gives the same answer (the failure is remembered, nothing is retried badly).
  EXPECT_FALSE(device_available(Device::cuda));
}

TEST(BackendNoGpu, TrainingOnCudaIsAnError) {
  if (device_available(Device::cuda)) GTEST_SKIP() << "a CUDA device is present";
  const std::string dir = kiln::testing::make_synthetic_idx("cuda-unavailable", 32, 16);
  const std::string text = "name = \"tiny\"\n[data]\ndataset = \"idx\"\ndir = \"" + dir +
                           "\"\n[model]\nlayers = [\"dense 4\"]\n[train]\nepochs = 1\ndevice = \"cuda\"\n";
  TrainOptions o;
  o.runs_dir = dir + "/runs";
  o.progress = o.epoch_lines = o.write_report = false;
  std::string msg;
  try {
    train(parse_experiment(text, "tiny.toml"), o);
  } catch (const Error& e) {
    msg = e.what();
  }
  std::filesystem::remove_all(dir);
  EXPECT_NE(msg.find("train.device"), std::string::npos) << msg;
}

}  // namespace
