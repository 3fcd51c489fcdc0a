#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/commands.h"
#include "gradcheck/gradcheck.h"
#include "loss/loss.h"
#include "tensor/rng.h"
#include "train/setup.h"

namespace fs = std::filesystem;

namespace kiln::cli {

namespace {

// The check runs in the double-precision build of this command (kiln-f64, beside it), as the
// test suite's do: float32 rounding of the loss rules out steps much below 1e-3, and in a large
// network (batch norm in training, above all) some ReLU or max-pool kink lies within every such
// step for many weights, so float checks of big nets fail where nothing is wrong. Double
// precision resolves steps down to 1e-7, where kinks are rare; those left are set aside
// (gradcheck.h) and counted.
int run(const Args& a) {
  if constexpr (sizeof(Real) == sizeof(float)) {
    std::error_code ec;
    const fs::path f64 = fs::read_symlink("/proc/self/exe", ec).parent_path() / "kiln-f64";
    if (!ec && fs::exists(f64)) {
      std::vector<std::string> all{f64.string(), "gradcheck"};
      all.insert(all.end(), a.raw.begin(), a.raw.end());
      std::vector<char*> argv;
      for (auto& s : all) argv.push_back(s.data());
      argv.push_back(nullptr);
      std::fflush(stdout);
      ::execv(f64.c_str(), argv.data());
      throw Error("cannot run " + f64.string() + ": " + std::strerror(errno));
    }
    std::printf("note: no kiln-f64 beside this binary: checking in float32, where large networks fail at kinks\n");
  }
  Experiment e = experiment_from(a);
  Model model = build_model_for(e, sample_shape_of(e));
  auto loss = make_loss(e.loss.spec());
  const int64_t n = a.integer("batch", 4);
  Tensor x{model.input_shape().batched(n)};
  Rng rng(e.seed);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.normal());
  const int64_t K = model.output_shape().numel();
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (auto& l : labels) l = static_cast<int32_t>(rng.below(static_cast<uint64_t>(K)));
  const bool f64 = sizeof(Real) == sizeof(double);
  std::printf("checking %lld parameters of '%s' against central differences (%s, sampled)\n",
              static_cast<long long>(model.param_count()), e.name.c_str(), f64 ? "float64" : "float32");
  std::fflush(stdout);
  bool ok = true;
  for (Mode mode : {Mode::eval, Mode::train}) {
    GradCheckOptions o;
    o.max_elements = 40;
    if (f64) o.steps = {1e-3, 1e-4, 1e-5, 1e-6, 1e-7};
    o.kinks_fail = false;
    auto r = check_model(model, *loss, x, Targets{labels, nullptr}, Pass{mode, e.seed, 0}, o);
    std::printf("  %-5s mode: %s\n", mode == Mode::train ? "train" : "eval", r.report().c_str());
    ok = ok && r.ok;
  }
  std::printf("%s\n", ok ? "gradients agree" : "GRADIENT MISMATCH");
  return ok ? 0 : 1;
}

}  // namespace

Command gradcheck_command() {
  return {{"gradcheck",
           "check the model's backward pass against central differences, in double precision (kiln-f64)",
           "FILE",
           "an experiment file (none: the built-in baseline)",
           0,
           1,
           {set_option(),
            // Batch norm in training needs two samples for a variance.
            {"batch", "N", "samples in the random batch (default 4)", false, true, 2, 256}},
           "Minutes for large nets (the VGG-style one); seconds for the seed CNNs.\n"},
          run};
}

}  // namespace kiln::cli
