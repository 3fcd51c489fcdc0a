#include "train/run_report.h"

#include <algorithm>
#include <filesystem>

#include "config/experiment.h"
#include "report/report.h"
#include "train/run_folder.h"
#include "train/saved_run.h"

namespace kiln {

namespace {

ImageExample example(const Dataset& d, int64_t i, int32_t pred, float prob) {
  const Shape s = d.sample_shape();
  ImageExample ex;
  ex.C = s[0];
  ex.H = s.rank() > 1 ? s[1] : 1;
  ex.W = s.rank() > 2 ? s[2] : 1;
  ex.pixels = d.sample_pixels(i);
  ex.label = d.labels[static_cast<size_t>(i)];
  ex.pred = pred;
  ex.prob = prob;
  ex.index = i;
  return ex;
}

}  // namespace

std::string write_run_report(const std::string& dir, const Model& model, const Dataset& test, const Evaluation& ev) {
  ReportData r;
  const Experiment e = load_experiment(dir + "/config.toml");
  for (const auto& k : experiment_keys(e)) r.hyperparams.emplace_back(k.key, k.value);
  r.title = e.name;
  if (std::filesystem::exists(dir + "/manifest.toml")) r.manifest = read_key_values(dir + "/manifest.toml");
  if (std::filesystem::exists(dir + "/metrics.csv")) r.epochs = read_epoch_csv(dir + "/metrics.csv");
  if (std::filesystem::exists(dir + "/batches.csv")) r.batches = read_batch_csv(dir + "/batches.csv");
  if (std::filesystem::exists(dir + "/gradnorms.csv")) read_grad_norm_csv(dir + "/gradnorms.csv", r.grad_norm_layers, r.grad_norms);
  if (std::filesystem::exists(dir + "/histograms.csv")) r.histograms = read_histogram_csv(dir + "/histograms.csv");
  r.regression = test.regression();
  r.target = test.target;
  KILN_REQUIRE((r.regression ? ev.values.size() : ev.predicted.size()) == static_cast<size_t>(test.size()),
               "the report needs an evaluation with predictions");
  r.class_names = test.class_names;
  r.confusion = ev.confusion;

  // Most confident mistakes first; then a few correct examples of each class. Only images have
  // pixels to show (a table's rows are float samples).
  std::vector<int64_t> wrong;
  const int64_t images = test.floats || r.regression ? 0 : test.size();
  for (int64_t i = 0; i < images; ++i)
    if (ev.predicted[static_cast<size_t>(i)] != test.labels[static_cast<size_t>(i)]) wrong.push_back(i);
  std::stable_sort(wrong.begin(), wrong.end(), [&](int64_t a, int64_t b) {
    return ev.confidence[static_cast<size_t>(a)] > ev.confidence[static_cast<size_t>(b)];
  });
  for (size_t j = 0; j < wrong.size() && j < 40; ++j)
    r.mistakes.push_back(example(test, wrong[j], ev.predicted[static_cast<size_t>(wrong[j])],
                                 ev.confidence[static_cast<size_t>(wrong[j])]));
  std::vector<int> shown(r.class_names.size() + 1, 0);
  for (int64_t i = 0; i < images; ++i) {
    const int32_t y = test.labels[static_cast<size_t>(i)];
    if (ev.predicted[static_cast<size_t>(i)] != y || y >= static_cast<int32_t>(shown.size()) || shown[static_cast<size_t>(y)] >= 3) continue;
    ++shown[static_cast<size_t>(y)];
    r.correct.push_back(example(test, i, y, ev.confidence[static_cast<size_t>(i)]));
  }

  // The first learned layer's weights: conv (K, C, R, S) or dense (out, in).
  for (const auto& p : model.named_params()) {
    if (p.value.rank() != 4 && p.value.rank() != 2) continue;
    const Tensor host = p.value.to(Device::cpu);
    r.first_weights.assign(host.data(), host.data() + host.numel());
    const auto w = p.value.shape().dims(), in = model.input_shape().dims();
    r.first_weights_shape.assign(w.begin(), w.end());
    r.input_shape.assign(in.begin(), in.end());
    break;
  }
  for (const auto& row : model.summary())
    r.layers.push_back({row.spec, row.output.str(), row.params, row.flops, row.depth});
  r.total_params = model.param_count();
  for (const auto& row : model.summary())
    if (row.depth == 0) r.total_flops += row.flops;
  return write_report(r, dir);
}

std::string write_run_report(const std::string& dir) {
  SavedRun run = open_saved_run(dir);
  if (!run.experiment) throw Error(dir + ": not a run folder (no config.toml)");
  SavedEvaluation saved = evaluate_saved(run, "", 0, /*keep_predictions=*/true);
  return write_run_report(dir, run.model, saved.test, saved.ev);
}

}  // namespace kiln
