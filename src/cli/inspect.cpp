// `kiln summary` and `kiln report`: looking at an experiment and at a run.
#include <cstdio>

#include "cli/commands.h"
#include "train/run_report.h"
#include "train/setup.h"

namespace kiln::cli {

namespace {

int summary(const Args& a) {
  Experiment e = experiment_from(a);
  Model model = build_model_for(e, sample_shape_of(e));
  std::printf("%s (%s)\n\n%s", e.name.c_str(), e.source.c_str(), model.summary_table().c_str());
  return 0;
}

int report(const Args& a) {
  set_threads(a.integer("threads", 0));
  std::printf("report: %s\n", write_run_report(a.positional[0]).c_str());
  return 0;
}

}  // namespace

Command summary_command() {
  return {{"summary", "per-layer table of an experiment's model: output shapes, parameters, FLOPs", "FILE",
           "an experiment file (none: the built-in baseline)", 0, 1, {set_option()},
           "example:\n  kiln summary configs/cifar10_vgg_bn.toml\n"},
          summary};
}

Command report_command() {
  return {{"report", "(re)write RUN/report.html; for an unfinished run, from its last checkpoint", "RUN", "a run folder",
           1, 1, {threads_option()}, ""},
          report};
}

}  // namespace kiln::cli
