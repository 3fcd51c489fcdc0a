// kiln_speed: training and inference throughput of one shipped experiment, for the side-by-side
// comparison with PyTorch (bench/compare_pytorch.py runs it and bench/torch_speed.py in turn).
//
//   kiln_speed CONFIG [--batch N] [--threads N] [--seconds S] [--mode train|infer] [--set K=V]...
//
// --set train.precision=bf16 measures CPU mixed precision (bench/bf16_speed.py).
//
// Train: the real training step (forward, loss, backward, optimizer) on batches from the real
// data through kiln's loader (shuffled, normalised; augmentation off, as on the PyTorch side),
// after a warm-up of a few steps. Infer: eval-mode forward passes over test batches. Prints one
// JSON line: images/s, forward FLOPs per image, peak resident memory.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/runtime.h"
#include "config/experiment.h"
#include "data/loader.h"
#include "loss/loss.h"
#include "optim/optimizer.h"
#include "train/evaluate.h"
#include "train/setup.h"
#include "train/step.h"
#include "train/trainer.h"

using namespace kiln;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: kiln_speed CONFIG [--batch N] [--threads N] [--seconds S] [--mode train|infer] [--set K=V]...\n");
    return 2;
  }
  std::string config = argv[1], mode = "train";
  int64_t batch = 0;
  int threads = 0;
  double seconds = 5;
  std::vector<std::string> overrides{"data.crop_pad=0", "data.hflip=false", "data.cutout=0"};
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--batch") batch = std::stoll(value());
    else if (a == "--threads") threads = std::stoi(value());
    else if (a == "--seconds") seconds = std::stod(value());
    else if (a == "--mode") mode = value();
    else if (a == "--set") overrides.push_back(value());
    else throw Error("unknown option " + a);
  }
  if (batch > 0) overrides.push_back("train.batch_size=" + std::to_string(batch));
  Experiment e = load_experiment(config, overrides);
  set_threads(threads);
  Data data = load_data(e.data, e.seed);
  Model model = build_model_for(e, data.train.sample_shape());
  const Device device = require_device(e.train.device);
  model.to(device);
  // train.precision as the trainer applies it (--set train.precision=bf16: CPU mixed precision).
  backend(device).set_tf32(e.train.precision == "tf32");
  set_bf16(device, e.train.precision == "bf16");
  auto loss = make_loss(e.loss.spec());
  auto optimizer = make_optimizer(e.optimizer, model.param_count());
  optimizer->to(model.device());
  int64_t flops = 0;
  for (const auto& row : model.summary())
    if (row.depth == 0) flops += row.flops;

  const bool train = mode == "train";
  const int64_t B = train ? e.train.batch_size : (batch > 0 ? batch : 1000);
  Loader loader(train ? data.train : data.test, B, train, e.seed, data.norm, Augment{});
  TrainStep step(model, *loss, *optimizer, e.seed);
  Batch b;
  Tensor x_device;
  int64_t epoch = 0, steps = 0, images = 0;
  loader.start_epoch(epoch);
  auto next = [&] {
    while (!loader.next(b) || static_cast<int64_t>(b.y.size()) != B) loader.start_epoch(++epoch);
  };
  auto run_one = [&] {
    next();
    if (train) {
      step.run(b, steps, e.schedule.lr);
    } else {
      const Tensor& out = model.forward(on_device(b.x, x_device, model.device()), Pass{Mode::eval, 0, 0, /*backward=*/false});
      if (out.device() != Device::cpu) backend(out.device()).synchronize();
    }
    ++steps;
  };
  for (int i = 0; i < 5; ++i) run_one();  // warm-up: buffers planned, caches and pools warm
  const auto t0 = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    run_one();
    images += B;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("{\"framework\": \"kiln\", \"config\": \"%s\", \"mode\": \"%s\", \"batch\": %lld, \"threads\": %d, "
              "\"precision\": \"%s\", \"images_per_s\": %.1f, \"forward_flops_per_image\": %lld, \"peak_rss_mb\": %.1f, "
              "\"steps\": %lld}\n",
              config.c_str(), mode.c_str(), static_cast<long long>(B), thread_count(), e.train.precision.c_str(),
              static_cast<double>(images) / elapsed, static_cast<long long>(flops), ru.ru_maxrss / 1024.0,
              static_cast<long long>(steps));
  return 0;
} catch (const std::exception& ex) {
  std::fprintf(stderr, "kiln_speed: %s\n", ex.what());
  return 1;
}
