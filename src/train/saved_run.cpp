#include "train/saved_run.h"

#include <cstdio>
#include <filesystem>

#include "backend/runtime.h"
#include "loss/loss.h"
#include "model/build.h"
#include "train/setup.h"

namespace fs = std::filesystem;

namespace kiln {

SavedRun open_saved_run(const std::string& target, const std::vector<std::string>& overrides) {
  std::error_code ec;
  const fs::file_status st = fs::status(target, ec);
  if (ec || !fs::exists(st))
    throw Error(target + ": no such run folder or file (expected a run folder, or a weights.kiln or checkpoint.kiln)");
  fs::path dir, file;
  if (fs::is_directory(st)) {
    dir = target;
    file = fs::exists(dir / "weights.kiln") ? dir / "weights.kiln" : dir / "checkpoint.kiln";
    if (!fs::exists(file))
      throw Error(target + ": neither weights.kiln nor checkpoint.kiln here (is this a run folder?)");
  } else {
    file = target;
    dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  }
  std::optional<Experiment> e;
  if (fs::exists(dir / "config.toml")) e = load_experiment((dir / "config.toml").string(), overrides);
  else if (!overrides.empty()) throw Error(file.string() + ": --set needs the run's config.toml beside the file");
  SavedRun run{e ? dir.string() : "", file.string(), e, load_model(file.string())};
  if (e) {
    const Device device = require_device(e->train.device);
    run.model.to(device);
    // A run trained in bf16 is evaluated in bf16, so that its own test loss is reproduced;
    // on a CPU without AVX512-BF16 the weights (fp32) are evaluated in fp32, with a note.
    try {
      set_bf16(device, e->train.precision == "bf16");
    } catch (const Error& err) {
      std::fprintf(stderr, "note: %s; evaluating in fp32\n", err.what());
    }
  }
  return run;
}

DataConfig eval_data_config(const SavedRun& run, const std::string& data_dir) {
  DataConfig d;
  if (run.experiment) {
    d = run.experiment->data;
  } else {
    const std::string& dataset = run.model.preprocessing().dataset;
    if (dataset.empty()) throw Error(run.file + ": the file names no dataset and no config.toml is beside it: give --data DIR");
    d.dataset = dataset;
    d.dir = "";
    const Preprocessing& prep = run.model.preprocessing();
    if (prep.regression()) {
      d.task = "regression";
      d.target = prep.label;
    } else if (!prep.label.empty()) {
      d.label = prep.label;
    }
  }
  if (!data_dir.empty()) d.dir = data_dir;
  return d;
}

SavedEvaluation evaluate_saved(SavedRun& run, const std::string& data_dir, int64_t batch, bool keep_predictions,
                               bool flip, std::optional<int64_t> translate) {
  const DataConfig cfg = eval_data_config(run, data_dir);
  SavedEvaluation out;
  // A table's labels are read as the model's classes (its test file may lack some of them).
  const Preprocessing& prep = run.model.preprocessing();
  out.test = load_split(cfg, false, true, prep.features.empty() ? std::vector<std::string>{} : prep.class_names);
  if (out.test.sample_shape() != run.model.input_shape())
    throw Error(out.test.source + ": samples are " + out.test.sample_shape().str() + " but " + run.file +
                " takes " + run.model.input_shape().str());
  Normalization norm;
  if (run.model.preprocessing().known()) {
    norm = normalization_of(run.model.preprocessing());
  } else {
    if (!run.experiment) throw Error(run.file + ": an old weights file without its preprocessing, and no config.toml beside it");
    std::fprintf(stderr, "kiln: note: %s records no normalisation (an older file): using the training set's\n",
                 run.file.c_str());
    norm = load_data(run.experiment->data, run.experiment->seed).norm;
  }
  if (run.model.preprocessing().class_names.size() == static_cast<size_t>(out.test.classes()))
    out.test.class_names = run.model.preprocessing().class_names;
  auto loss = make_loss(run.experiment ? run.experiment->loss.spec() : prep.regression() ? "mse" : "softmax_xent");
  if (batch <= 0) batch = run.experiment ? run.experiment->train.eval_batch_size : 1000;
  const TestTimeViews views{flip || (run.experiment && run.experiment->train.eval_flip),
                            translate ? *translate : run.experiment ? run.experiment->train.eval_translate : 0};
  out.ev = evaluate(run.model, *loss, out.test, norm, batch, keep_predictions, nullptr, views);
  return out;
}

}  // namespace kiln
