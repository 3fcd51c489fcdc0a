#include <cstdio>

#include "cli/commands.h"
#include "train/predict.h"
#include "train/saved_run.h"

namespace kiln::cli {

namespace {

int run(const Args& a) {
  set_threads(a.integer("threads", 1));
  const std::vector<std::string> tables = a.all("csv");
  if (a.positional.size() < 2 && tables.empty())
    throw UsageError("give the model and at least one image file or --csv FILE: kiln predict RUN FILE...");
  SavedRun saved = open_model(a.positional[0], a);
  saved.model.to(Device::cpu);
  if (a.has("columns")) {
    std::vector<std::string> columns;
    std::string text = a.one("columns");
    for (size_t at = 0;;) {
      const size_t comma = text.find(',', at);
      columns.push_back(text.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
    set_feature_columns(saved.model, columns);
  }
  const Fit fit = saved.experiment && saved.experiment->data.fit == "crop" ? Fit::crop : Fit::resize;
  const int64_t top = a.integer("top", 3);
  const bool json = a.flag("json");
  for (const std::string& table : tables)
    for (const Prediction& p : predict_csv(saved.model, table, top)) std::printf("%s\n", format_prediction(p, json).c_str());
  for (size_t i = 1; i < a.positional.size(); ++i) {
    const Prediction p = predict_image(saved.model, a.positional[i], fit, top);
    std::printf("%s\n", format_prediction(p, json).c_str());
  }
  return 0;
}

}  // namespace

Command predict_command() {
  return {{"predict",
           "the most probable classes of image files or CSV rows under a trained model (a regression's predicted "
           "value per row)",
           "RUN|FILE|MODEL.onnx [IMAGE...]",
           "a run folder, a weights.kiln / checkpoint.kiln or an ONNX file, then PNG or JPEG files (decoded to the model's "
           "channels, fitted to its input size, normalised as it was trained); or --csv FILE for a model trained on a table",
           1,
           1 << 20,
           {{"top", "K", "classes shown per input, best first (default 3)", false, true, 1, 1 << 20},
            {"json", "", "one JSON object per line: input, top classes with index and probability (a regression's: input, "
                         "target, value)"},
            {"csv", "FILE",
             "rows of a CSV file with a header row, for a model trained on a table (dataset \"csv\"): its feature "
             "columns are found by name and standardised as in training; other columns, the label among them, are "
             "ignored; one line per row, named FILE:LINE (may be repeated); a regression model prints the predicted "
             "value of its target column (in the column's units) instead of classes",
             true},
            {"columns", "A,B,...",
             "with --csv: the model's input columns, in its input order, for a model that records none (an ONNX file "
             "carries no column names); found by name in FILE's header like a kiln model's"},
            threads_option()},
           "examples:\n  kiln predict runs/cifar10-cnn-20261123-101500 cat.png ship.jpg --top 2\n"
           "  kiln predict model.kiln *.png --json\n"
           "  kiln predict runs/iris-mlp-20261202-041500 --csv flowers.csv --top 1\n"
           "  kiln predict iris.onnx --csv flowers.csv --columns sepal_length,sepal_width,petal_length,petal_width\n"},
          run};
}

}  // namespace kiln::cli
