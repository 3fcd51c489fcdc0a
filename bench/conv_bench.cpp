// Conv2d and pooling at the shapes of the seed MNIST CNN (batch 64):
//   conv1: 1 -> 16, 5x5 pad 2 on 28x28      conv2: 16 -> 16, 5x5 pad 2 on 14x14
//   maxpool 2 on (64, 16, 28, 28)
// GFLOP (shown per second) counts 2 per multiply-add of the convolution proper (bias and reorders excluded),
// so the numbers compare directly with other frameworks' conv throughput.
#include <benchmark/benchmark.h>

#include "backend/cpu/conv.h"
#include "layers/conv2d.h"
#include "layers/pool.h"

using namespace kiln;

namespace {

const Pass kTrain{Mode::train, 1, 0};

struct ConvSetup {
  Conv2d conv;
  Tensor x, y, dy, dx;
  double macs;
  ConvSetup(int64_t N, int64_t C, int64_t HW, int64_t K, int64_t R, int64_t pad)
      : conv(C, K, R, R, 1, pad) {
    Rng rng(1);
    conv.init(rng);
    const Shape in{N, C, HW, HW}, out = conv.output_shape(in);
    x = Tensor(in);
    y = Tensor(out);
    dy = Tensor(out);
    dx = Tensor(in);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
    for (int64_t i = 0; i < dy.numel(); ++i) dy[i] = static_cast<Real>(rng.uniform(-1, 1));
    macs = static_cast<double>(out.numel()) * static_cast<double>(C * R * R);
  }
};

void gflops(benchmark::State& state, double flops) {
  state.counters["GFLOP"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ConvForward(benchmark::State& state, int64_t C, int64_t HW) {
  ConvSetup s(64, C, HW, 16, 5, 2);
  for (auto _ : state) {
    s.conv.forward(s.x, s.y, kTrain);
    benchmark::DoNotOptimize(s.y.data());
  }
  gflops(state, 2 * s.macs);
}

// Backward of a network's first layer needs no dx (one GEMM); deeper layers need both.
void BM_ConvBackward(benchmark::State& state, int64_t C, int64_t HW, bool with_dx) {
  ConvSetup s(64, C, HW, 16, 5, 2);
  s.conv.forward(s.x, s.y, kTrain);
  for (auto _ : state) {
    s.conv.backward(s.x, s.y, s.dy, with_dx ? &s.dx : nullptr);
    benchmark::DoNotOptimize(s.dx.data());
  }
  gflops(state, (with_dx ? 4 : 2) * s.macs);
}

BENCHMARK_CAPTURE(BM_ConvForward, mnist_conv1, 1, 28)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvForward, mnist_conv2, 16, 14)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, mnist_conv1_no_dx, 1, 28, false)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, mnist_conv2, 16, 14, true)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Forward + backward (with dx) of conv2 with the workspace bounded to range(0) KiB.
void BM_ConvChunking(benchmark::State& state) {
  ConvSetup s(64, 16, 14, 16, 5, 2);
  const int64_t old = cpu::set_conv_chunk_bytes(state.range(0) << 10);
  for (auto _ : state) {
    s.conv.forward(s.x, s.y, kTrain);
    s.conv.backward(s.x, s.y, s.dy, &s.dx);
    benchmark::DoNotOptimize(s.dx.data());
  }
  cpu::set_conv_chunk_bytes(old);
  gflops(state, 6 * s.macs);
}
BENCHMARK(BM_ConvChunking)->RangeMultiplier(4)->Range(256, 32 << 10)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_MaxPool(benchmark::State& state) {
  MaxPool2d pool(2);
  Tensor x({64, 16, 28, 28}), y(pool.output_shape(x.shape())), dy(y.shape()), dx(x.shape());
  Rng rng(1);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
  for (auto _ : state) {
    pool.forward(x, y, kTrain);
    pool.backward(x, y, dy, &dx);
    benchmark::DoNotOptimize(dx.data());
  }
}
BENCHMARK(BM_MaxPool)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Tiny, for the CI smoke run: keeps the conv path compiling and running in the bench build.
void BM_Smoke_Conv(benchmark::State& state) {
  ConvSetup s(2, 3, 8, 4, 3, 1);
  for (auto _ : state) {
    s.conv.forward(s.x, s.y, kTrain);
    s.conv.backward(s.x, s.y, s.dy, &s.dx);
    benchmark::DoNotOptimize(s.dx.data());
  }
}
BENCHMARK(BM_Smoke_Conv);

}  // namespace
