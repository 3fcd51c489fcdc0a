#include <optional>

#include "cli/commands.h"

namespace kiln::cli {

namespace {

int run(const Args& a) {
  install_stop_handlers();
  TrainOptions opt = train_options(a);
  if (a.has("resume")) {
    if (!a.positional.empty()) throw UsageError("--resume takes the run folder; no experiment file with it");
    opt.allow_change = a.flag("allow-change");
    return finish(resume(a.one("resume"), opt, overrides(a)));
  }
  if (a.flag("allow-change")) throw UsageError("--allow-change goes with --resume");
  std::optional<SavedRun> init;
  if (a.has("init")) {
    init.emplace(open_model(a.one("init"), Args{}));
    opt.init = &init->model;
    opt.init_source = init->file;
  }
  return finish(kiln::train(experiment_from(a), opt));
}

}  // namespace

Command train_command() {
  return {{"train",
           "train the experiment in FILE (default: the baseline CNN on Fashion-MNIST); writes a run folder",
           "FILE",
           "an experiment file (configs/*.toml); none: the built-in baseline",
           0,
           1,
           {set_option(),
            {"runs", "DIR", "where run folders are made (default: runs)"},
            threads_option(),
            device_option(),
            {"resume", "RUN", "continue the interrupted run in RUN exactly where it stopped"},
            {"allow-change", "", "with --resume: accept --set changes beyond more epochs (recorded in the manifest)"},
            {"no-progress", "", "no live progress bar"},
            {"init", "MODEL", "start from these weights (a run, weights.kiln or MODEL.onnx of the same layer shapes)"}},
           "examples:\n  kiln train configs/mnist_cnn.toml --set optimizer.lr=0.01 --set train.epochs=3\n"
           "  kiln train --resume runs/mnist-cnn-20261123-101500\n"
           "  kiln train --resume RUN --set train.epochs=20    (more epochs)\n"},
          run};
}

}  // namespace kiln::cli
