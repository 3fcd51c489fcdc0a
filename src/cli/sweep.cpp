#include <cstdio>

#include "cli/commands.h"
#include "dist/comm.h"
#include "train/sweep.h"

namespace kiln::cli {

namespace {

int run(const Args& a) {
  install_stop_handlers();
  SweepPlan plan = plan_sweep(a.positional[0], a.all("vary"), overrides(a));
  TrainOptions opt = train_options(a);
  std::printf("sweep '%s': %zu variants of %s\n", plan.name.c_str(), plan.variants.size(), plan.experiment.c_str());
  std::string dir;
  std::string table = run_sweep(plan, opt, &dir);
  if (const Comm* comm = world_if_started(); comm && comm->rank() != 0) return 0;  // rank 0 reports
  std::printf("\n%s\ncomparison: %s/comparison.html\n", table.c_str(), dir.c_str());
  return 0;
}

}  // namespace

Command sweep_command() {
  return {{"sweep",
           "run a grid or list of variants of an experiment and compare them",
           "FILE",
           "a sweep file (sweeps/*.toml), or an experiment file with --vary",
           1,
           1,
           {{"vary", "KEY=V1,V2,...", "a grid axis (repeatable): --vary optimizer.lr=0.001,0.01", true},
            set_option(),
            {"runs", "DIR", "where the sweep folder is made (default: runs)"},
            threads_option(),
            device_option(),
            {"no-progress", "", "no live progress bar"}},
           "examples:\n  kiln sweep sweeps/depth.toml\n  kiln sweep configs/cifar10_cnn.toml --vary optimizer.lr=0.0005,0.001,0.01\n"},
          run};
}

}  // namespace kiln::cli
