#pragma once
// `kiln train`: a run folder (run_folder.h) around the training loop (loop.h).
#include <cmath>
#include <string>
#include <vector>

#include "backend/runtime.h"
#include "config/experiment.h"
#include "model/model.h"
#include "train/stop.h"

namespace kiln {

class Comm;

struct TrainOptions {
  std::string runs_dir = "runs";
  std::string run_dir;       // use exactly this folder (created if missing) instead of a new one
  bool progress = true;      // live progress bar on stderr
  bool epoch_lines = true;   // one summary line per epoch on stdout
  bool write_report = true;  // report.html at the end
  int threads = 0;           // overrides the experiment's train.threads when > 0
  // For tests: act as if interrupted (SIGINT) once this many optimizer steps are done.
  int64_t stop_after_steps = 0;
  std::string command;       // the command line, recorded in the manifest
  // resume(): continue even when the overrides change more than train.epochs (recorded).
  bool allow_change = false;
  // The ranks that train this run together; null: world() (every rank of mpirun, or this
  // process alone). A sweep over ranks gives each variant a communicator of one.
  Comm* comm = nullptr;
  // train(): start from these weights instead of the initialisation (same layer shapes).
  const Model* init = nullptr;
  std::string init_source;  // where they came from, for errors and the manifest
};

struct RunResult {
  enum class Status { completed, interrupted, diverged } status = Status::completed;
  std::string run_dir;
  std::string message;
  double test_loss = 0, test_accuracy = 0;
  double test_mae = NAN, test_rmse = NAN;  // a regression's, in the target's units (NaN for a classification)
};

// Starts a new run in a fresh folder under options.runs_dir.
RunResult train(const Experiment& experiment, const TrainOptions& options);
// Continues the run in RUN_DIR from its checkpoint, with its own resolved configuration. An
// override may only raise train.epochs, unless options.allow_change (a lower learning rate
// after a divergence, say); every change is recorded in the manifest.
RunResult resume(const std::string& run_dir, const TrainOptions& options, const std::vector<std::string>& overrides = {});

}  // namespace kiln
