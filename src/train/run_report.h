#pragma once
// Gathers what a run folder holds (metrics, configuration, manifest), evaluates the model on
// the test set for the confusion matrix and example images, and writes report.html.
#include <string>

#include "model/model.h"
#include "train/setup.h"

namespace kiln {

// With the model and data already in memory (the end of `kiln train`).
std::string write_run_report(const std::string& run_dir, Model& model, const Data& data);
// From the folder alone (`kiln report RUN`): loads config, data and weights (or checkpoint).
std::string write_run_report(const std::string& run_dir);

}  // namespace kiln
