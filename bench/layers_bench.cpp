// Every layer of the shipped nets, forward and backward, at the shapes and batch sizes of the
// end-to-end comparison (bench/compare_pytorch.py): what each net's images/s is made of.
//
//   kiln_bench --benchmark_filter='Layer/vgg'      (one net)   --benchmark_filter='Layer/'   (all)
//
// Names are Layer/<net>/b<batch>/<index> <spec>/<forward|backward>; a ReLU folded into the conv
// before it (Sequential::fuse) is shown with that conv ("+relu") and has no row of its own.
// GFLOP counts 2 per multiply-add: forward as the layer's summary reports it, backward twice
// that for layers with weights (dL/dx and dL/dw; the first layer computes no dL/dx, once) and
// once for the rest. GB counts the bytes of the tensors the pass reads and writes once each.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "config/experiment.h"
#include "train/setup.h"

using namespace kiln;

namespace {

struct Net {
  const char* label;
  const char* config;
  int64_t batch;
};
// The training rows of bench/compare_pytorch.py.
const Net kNets[] = {
    {"mnist_cnn", "configs/mnist_cnn.toml", 64},      {"mnist_cnn", "configs/mnist_cnn.toml", 256},
    {"cifar_cnn", "configs/cifar10_cnn.toml", 64},    {"cifar_cnn", "configs/cifar10_cnn.toml", 256},
    {"tutorial_cnn", "configs/cifar10_tutorial_cnn.toml", 64}, {"mlp", "configs/mnist_mlp_adam.toml", 256},
    {"vgg", "configs/cifar10_vgg_bn.toml", 128},
};

const Pass kTrain{Mode::train, 1, 0};

Tensor random_tensor(const Shape& s, Rng& rng) {
  Tensor t(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<Real>(rng.uniform(-1, 1));
  return t;
}

void counters(benchmark::State& state, double flops, double bytes) {
  if (flops > 0) state.counters["GFLOP"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// One layer of a model (kept alive by the shared pointer) and the batched shape flowing into it.
struct LayerCase {
  std::shared_ptr<Model> model;
  size_t index;
  Shape in;
  bool first;
};

void forward(benchmark::State& state, const LayerCase& c) {
  Layer& layer = c.model->net()[c.index];
  Rng rng(1);
  const Tensor x = random_tensor(c.in, rng);
  Tensor y(layer.output_shape(c.in));
  for (auto _ : state) {
    layer.forward(x, y, kTrain);
    benchmark::DoNotOptimize(y.data());
  }
  counters(state, static_cast<double>(layer.forward_flops(c.in)), 4.0 * static_cast<double>(x.numel() + y.numel()));
}

void backward(benchmark::State& state, const LayerCase& c) {
  Layer& layer = c.model->net()[c.index];
  Rng rng(2);
  const Tensor x = random_tensor(c.in, rng);
  Tensor y(layer.output_shape(c.in)), dx(c.in);
  const Tensor dy = random_tensor(y.shape(), rng);
  layer.forward(x, y, kTrain);  // the caches backward reads (pooling argmax, batch statistics)
  for (auto _ : state) {
    layer.backward(x, y, dy, c.first ? nullptr : &dx);
    benchmark::DoNotOptimize(dx.data());
  }
  const double f = static_cast<double>(layer.forward_flops(c.in));
  const bool weights = !layer.params().empty();
  counters(state, weights ? (c.first ? f : 2 * f) : f,
           4.0 * static_cast<double>(x.numel() + 2 * y.numel() + (c.first ? 0 : dx.numel())));
}

// Registered before main() runs the benchmarks: one forward and one backward row per layer.
const bool kRegistered = [] {
  for (const Net& net : kNets) {
    std::shared_ptr<Model> model;
    try {
      const Experiment e = load_experiment(std::string(KILN_SOURCE_DIR) + "/" + net.config, {});
      model = std::make_shared<Model>(build_model_for(e, sample_shape_of(e)));
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "layers_bench: %s skipped: %s\n", net.config, ex.what());
      continue;
    }
    Sequential& seq = model->net();
    Shape in = model->input_shape().batched(net.batch);
    for (size_t i = 0; i < seq.size(); ++i) {
      const Shape out = seq[i].output_shape(in);
      if (!seq.fused(i)) {
        char index[24];
        std::snprintf(index, sizeof index, "%02zu", i);
        const bool relu = i + 1 < seq.size() && seq.fused(i + 1);
        const std::string name = "Layer/" + std::string(net.label) + "/b" + std::to_string(net.batch) + "/" + index +
                                 " " + seq[i].spec() + (relu ? " +relu" : "");
        const LayerCase c{model, i, in, i == 0};
        benchmark::RegisterBenchmark((name + "/forward").c_str(), forward, c)->Unit(benchmark::kMicrosecond)->UseRealTime();
        benchmark::RegisterBenchmark((name + "/backward").c_str(), backward, c)->Unit(benchmark::kMicrosecond)->UseRealTime();
      }
      in = out;
    }
  }
  return true;
}();

}  // namespace
