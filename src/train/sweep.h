#pragma once
// Sweeps: one experiment run several times with some keys varied, one run folder per variant
// under one sweep folder, then a comparison table and overlaid curves.
//
// A sweep file is TOML:
//   [sweep]
//   experiment = "cifar10_tutorial_cnn.toml"     # relative to the sweep file
//   name = "activation"
//   vary = { "optimizer.lr" = [0.0005, 0.001, 0.01] }       # a grid over these keys, and/or
//   [[sweep.variant]]                                        # named variants
//   name = "relu"
//   set = ["model.layers = [\"conv 6 5x5\", \"relu\", ...]"]
// or `kiln sweep EXPERIMENT --vary KEY=V1,V2,...` builds the grid from the command line.
// A variant is its whole resolved experiment: its folder is its name plus a hash of that, so a
// rerun skips variants trained with the same settings, resumes interrupted ones, and trains
// changed ones afresh; the comparison (report/sweep.h) lists every variant the sweep folder
// holds (its index: sweep.toml), each with its settings.
#include <string>
#include <vector>

#include "train/trainer.h"

namespace kiln {

struct Variant {
  std::string name;                     // "optimizer.lr=0.001" or a given name
  std::vector<std::string> overrides;   // "key=value"
  std::vector<std::pair<std::string, std::string>> values;  // the varied keys, for the table
};

struct SweepPlan {
  std::string name;
  std::string experiment;  // path of the base experiment file
  std::vector<std::string> base_overrides;
  std::vector<Variant> variants;
};

// From a sweep file, or from an experiment file plus --vary KEY=V1,V2 arguments.
SweepPlan plan_sweep(const std::string& file, const std::vector<std::string>& vary,
                     const std::vector<std::string>& overrides);

// Runs (or resumes) every variant; writes comparison.{md,csv,html} into the sweep folder and
// returns the Markdown table.
std::string run_sweep(const SweepPlan& plan, const TrainOptions& options, std::string* sweep_dir = nullptr);

}  // namespace kiln
