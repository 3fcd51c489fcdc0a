// The machine's single-precision GEMM ceiling: a 2048³ sgemm through kiln's GEMM (OpenBLAS,
// split over the thread pool), the yardstick docs/performance.md measures each net against.
#include <benchmark/benchmark.h>

#include "backend/cpu/gemm.h"
#include "backend/cpu/threads.h"
#include "tensor/rng.h"
#include "tensor/tensor.h"

using namespace kiln;

namespace {

void BM_SgemmPeak(benchmark::State& state) {
  const int64_t n = state.range(0);
  Tensor a({n, n}), b({n, n}), c({n, n});
  Rng rng(1);
  for (int64_t i = 0; i < a.numel(); ++i) a[i] = static_cast<Real>(rng.uniform(-1, 1));
  for (int64_t i = 0; i < b.numel(); ++i) b[i] = static_cast<Real>(rng.uniform(-1, 1));
  for (auto _ : state) {
    cpu::gemm(false, false, n, n, n, Real(1), a.data(), n, b.data(), n, Real(0), c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP"] = benchmark::Counter(2.0 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = cpu::thread_count();
}
BENCHMARK(BM_SgemmPeak)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2);

}  // namespace
