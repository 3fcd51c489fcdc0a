#pragma once
// The subcommands of `kiln`, one file each (train.cpp, eval.cpp, ...), listed in main.cpp. Each
// declares its command line (args.h) and runs on the parsed arguments; the work itself is the
// library's.
#include <string>
#include <vector>

#include "cli/args.h"
#include "config/experiment.h"
#include "train/saved_run.h"
#include "train/trainer.h"

namespace kiln::cli {

struct Command {
  CommandSpec spec;
  int (*run)(const Args& args);
};

Command train_command();      // train.cpp
Command eval_command();       // eval.cpp
Command predict_command();    // predict.cpp
Command export_command();     // export.cpp
Command import_command();     // export.cpp
Command summary_command();    // inspect.cpp
Command report_command();     // inspect.cpp
Command gradcheck_command();  // gradcheck.cpp
Command sweep_command();      // sweep.cpp
Command help_command();       // help.cpp

const std::vector<Command>& all_commands();  // main.cpp

// Shared by the commands.
std::vector<std::string> overrides(const Args& a);  // --set, and --device as train.device
Experiment experiment_from(const Args& a);           // the FILE (or the built-in default) with overrides
TrainOptions train_options(const Args& a);           // --runs, --threads, --no-progress, the command line
// A run folder, weights or checkpoint file (with --set overrides), or an ONNX file (imported;
// its dataset from --dataset, else guessed from its input shape).
SavedRun open_model(const std::string& target, const Args& a);
std::string command_line();                          // as typed, for run manifests
int finish(const RunResult& r);                      // prints the outcome; the exit status

}  // namespace kiln::cli
