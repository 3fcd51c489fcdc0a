#pragma once
// Gathers what a run folder holds (metrics, configuration, manifest) with an evaluation of the
// model on the test set (the confusion matrix and example images), and writes report.html.
#include <string>

#include "data/dataset.h"
#include "model/model.h"
#include "train/evaluate.h"

namespace kiln {

// With the model, the test set and its evaluation (with predictions) already in hand: after
// every epoch of `kiln train`.
std::string write_run_report(const std::string& run_dir, const Model& model, const Dataset& test, const Evaluation& ev);
// From the folder alone (`kiln report RUN`): its weights, or its checkpoint for a run that did
// not finish (interrupted, diverged), and its test set.
std::string write_run_report(const std::string& run_dir);

}  // namespace kiln
