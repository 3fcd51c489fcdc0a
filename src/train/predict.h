#pragma once
// A trained model on single inputs (`kiln predict`): image files decoded and fitted to the
// model's input, or rows of a CSV file, normalised with the preprocessing saved with it, and
// the softmax of the output, batch 1 on the CPU.
#include <string>
#include <vector>

#include "data/image_decode.h"
#include "model/model.h"

namespace kiln {

struct ClassScore {
  int32_t index;
  std::string name;
  float probability;
};

struct Prediction {
  std::string input;               // the file, or "FILE:LINE" for a table's row
  std::vector<ClassScore> top;     // the most probable classes, best first (none for a regression)
  // A regression model's prediction: the target column's name and the value, in its units.
  std::string target = {};
  double value = 0;
};

// A regression model's prediction for one row of a table (values in the column units): the
// output y mapped back to the target's units, y · std + mean, with the statistics saved with it.
double row_value(Model& model, const float* values);

// The class probabilities (softmax of the output) of one sample of 8-bit CHW pixels of the
// model's input shape, normalised as the model was trained.
std::vector<float> class_probabilities(Model& model, const uint8_t* pixels);

// The same for one row of a table: the model's input's values in the column units, standardised
// with the means and standard deviations saved with it.
std::vector<float> row_probabilities(Model& model, const float* values);

// Each data row of the CSV file at `path` through a model trained on a table: its feature
// columns found by name in the header (others, such as the label, ignored); inputs "FILE:LINE".
// A regression model gives each row's value (Prediction::value), not classes.
std::vector<Prediction> predict_csv(Model& model, const std::string& path, int64_t top);

// Names the input columns of a model that records none (an imported ONNX file: its graph
// carries no column names), so that predict_csv can find them in a header: `columns`, in the
// model's input order, one per input value, each once. A model that records its own columns
// takes only the same list (kiln::Error naming both otherwise).
void set_feature_columns(Model& model, const std::vector<std::string>& columns);

// The image at `path` through the model: decoded to its channels, fitted to its size.
Prediction predict_image(Model& model, const std::string& path, Fit fit, int64_t top);

// The `top` best of `probs` (ties: the lower class index first), named from the model's
// preprocessing (else "0", "1", ...).
std::vector<ClassScore> top_classes(const Model& model, const std::vector<float>& probs, int64_t top);

// One line per prediction: "FILE  cat 0.912  dog 0.071" (a regression's "FILE  price 3.1416"); or
// one JSON object per line.
std::string format_prediction(const Prediction& p, bool json);

}  // namespace kiln
