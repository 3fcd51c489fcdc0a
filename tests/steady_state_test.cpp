// "No allocation in the steady-state training step": after a few warm-up steps, a whole step
// (loader, forward, loss, backward, optimizer) must not allocate. Counted by replacing the
// global operator new for this test binary (every std container and every tensor's storage
// handle goes through it).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <new>

#include "config/experiment.h"
#include "synthetic_idx.h"
#include "train/setup.h"
#include "train/step.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_allocations{0};
}  // namespace

void* operator new(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

using namespace kiln;

// The convolutions take each path of the CPU backend: the direct kernels (1 -> 32, 32 -> 8), the
// Winograd kernels (32 -> 32) and the im2col lowering (stride 2).
TEST(SteadyState, ATrainingStepAllocatesNothing) {
  const std::string dir = kiln::testing::make_synthetic_idx("steady");
  for (const char* optimizer : {"sgd", "adam"}) {
    SCOPED_TRACE(optimizer);
    Experiment e = parse_experiment(
        "seed = 2\n[data]\ndataset = \"idx\"\ndir = \"" + dir +
            "\"\n[model]\nlayers = [\"conv 32 3x3 pad=1\", \"relu\", \"conv 32 3x3 pad=1\", \"relu\", "
            "\"maxpool 2\", \"conv 8 3x3 pad=1\", \"bn\", \"relu\", \"conv 8 3x3 stride=2 pad=1\", \"relu\", "
            "\"dropout 0.2\", \"dense 16\", \"relu\", \"dense 4\"]\n[optimizer]\nname = \"" +
            optimizer + "\"\nlr = 0.01\nmomentum = 0.0\n[train]\nbatch_size = 16\n",
        "steady.toml");
    Data data = load_data(e.data, e.seed);
    Model model = build_model_for(e, data.train.sample_shape());
    auto loss = make_loss(e.loss.spec());
    auto opt = make_optimizer(e.optimizer, model.param_count());
    Loader loader(data.train, e.train.batch_size, true, e.seed, data.norm, data.augment);
    TrainStep step(model, *loss, *opt, e.seed);
    Batch b;
    loader.start_epoch(0);
    int64_t s = 0;
    for (; s < 4; ++s) {  // warm-up: buffers planned, per-thread scratch grown
      ASSERT_TRUE(loader.next(b));
      step.run(b, s, 0.01);
    }
    g_allocations = 0;
    g_counting = true;
    for (; s < 14; ++s) {
      ASSERT_TRUE(loader.next(b));
      step.run(b, s, 0.01);
    }
    g_counting = false;
    EXPECT_EQ(g_allocations.load(), 0) << "allocations in 10 steady-state steps";
  }
  std::filesystem::remove_all(dir);
}
