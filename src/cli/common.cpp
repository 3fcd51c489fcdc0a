#include <cmath>
#include <cstdio>
#include <fstream>

#include "cli/commands.h"
#include "config/default_experiment.h"
#include "dist/comm.h"
#include "onnx/import.h"

namespace kiln::cli {

std::vector<std::string> overrides(const Args& a) {
  std::vector<std::string> o = a.all("set");
  if (a.has("device")) o.push_back("train.device=\"" + a.one("device") + "\"");
  return o;
}

Experiment experiment_from(const Args& a) {
  if (a.positional.empty()) return parse_experiment(kDefaultExperiment, "(built-in default experiment)", overrides(a));
  return load_experiment(a.positional[0], overrides(a));
}

SavedRun open_model(const std::string& target, const Args& a) {
  const bool onnx = target.size() > 5 && target.compare(target.size() - 5, 5, ".onnx") == 0;
  if (!onnx) return open_saved_run(target, overrides(a));
  SavedRun run{"", target, std::nullopt, import_onnx_file(target)};
  // The dataset its test files are in: --dataset, else the standard set of its input shape.
  Preprocessing p = run.model.preprocessing();
  const Shape& in = run.model.input_shape();
  p.dataset = a.has("dataset")                ? a.one("dataset")
              : in == Shape{1, 28, 28}        ? "mnist"
              : in == Shape{3, 32, 32}        ? "cifar10"
                                              : "";
  run.model.set_preprocessing(p);
  return run;
}

std::string command_line() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>()), out;
  for (char c : all) out += c == '\0' ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

TrainOptions train_options(const Args& a) {
  TrainOptions o;
  o.runs_dir = a.one("runs", "runs");
  o.threads = static_cast<int>(a.integer("threads", 0));
  o.progress = !a.flag("no-progress");
  o.command = command_line();
  return o;
}

int finish(const RunResult& r) {
  // In a data-parallel run every rank has the same result: rank 0 says it.
  const Comm* comm = world_if_started();
  const bool quiet = comm && comm->rank() != 0;
  switch (r.status) {
    case RunResult::Status::completed:
      if (quiet) return 0;
      if (!r.message.empty()) std::printf("%s\n", r.message.c_str());
      if (std::isfinite(r.test_rmse))  // a regression
        std::printf("done: test RMSE %.6g, MAE %.6g, test loss %.4f\nrun folder: %s\n", r.test_rmse, r.test_mae, r.test_loss,
                    r.run_dir.c_str());
      else
        std::printf("done: test accuracy %.2f%%, test loss %.4f\nrun folder: %s\n", 100 * r.test_accuracy, r.test_loss,
                    r.run_dir.c_str());
      return 0;
    case RunResult::Status::interrupted:
      if (quiet) return 130;
      std::fprintf(stderr, "%s\n", r.message.c_str());
      return 130;
    case RunResult::Status::diverged:
      if (quiet) return 1;
      std::fprintf(stderr, "kiln train: error: %s\n", r.message.c_str());
      return 1;
  }
  return 1;
}

}  // namespace kiln::cli
