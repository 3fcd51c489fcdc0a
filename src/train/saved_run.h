#pragma once
// A trained model read back, for `kiln eval`, `kiln report`, prediction and the Python
// module: the model from its weights file or checkpoint (which record its architecture, input
// shape and preprocessing: no training data is needed), and the run's experiment when the file
// sits in a run folder.
#include <optional>
#include <string>
#include <vector>

#include "config/experiment.h"
#include "model/model.h"
#include "train/evaluate.h"

namespace kiln {

struct SavedRun {
  std::string dir;                       // the run folder ("" for a file outside one)
  std::string file;                      // the weights or checkpoint read
  std::optional<Experiment> experiment;  // its config.toml, overrides applied
  Model model;
};

// TARGET: a run folder (its weights.kiln, else its checkpoint.kiln), or a weights or
// checkpoint file. Overrides apply to the run's experiment.
SavedRun open_saved_run(const std::string& target, const std::vector<std::string>& overrides = {});

// The data a saved model is evaluated on: the run's [data] settings, with `data_dir` (when
// given) for the folder; for a bare file, the dataset its preprocessing names in `data_dir`.
DataConfig eval_data_config(const SavedRun& run, const std::string& data_dir);

struct SavedEvaluation {
  Evaluation ev;
  Dataset test;
};
// The test split through the model, normalised as it was trained (its preprocessing; for an
// old file without it, the training set's statistics as the experiment says, with a note on
// stderr). batch 0: the run's eval_batch_size.
// Test-time augmentation (evaluate()): flips when `flip` says so or the run was trained with
// train.eval_flip; translations by `translate` pixels when given (0: none), else by the run's
// train.eval_translate. So a run is evaluated as it was during training unless told otherwise.
SavedEvaluation evaluate_saved(SavedRun& run, const std::string& data_dir, int64_t batch, bool keep_predictions = false,
                               bool flip = false, std::optional<int64_t> translate = std::nullopt);

}  // namespace kiln
