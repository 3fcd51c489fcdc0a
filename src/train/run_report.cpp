#include "train/run_report.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "loss/loss.h"
#include "report/report.h"
#include "train/evaluate.h"
#include "train/run_folder.h"

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

// "[optimizer]\nlr = 0.01" -> ("optimizer.lr", "0.01"), for the hyper-parameter table.
KeyValues flatten_toml(const std::string& text) {
  KeyValues kv;
  std::istringstream is(text);
  std::string line, section, pending_key, pending;
  while (std::getline(is, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (!pending_key.empty()) {  // inside a multi-line array
      pending.append(" ").append(line, line.find_first_not_of(' '), std::string::npos);
      if (line == "]") {
        kv.emplace_back(pending_key, pending);
        pending_key.clear();
      }
      continue;
    }
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    std::string key = (section.empty() ? "" : section + ".") + line.substr(0, eq), value = line.substr(eq + 3);
    if (value == "[") {
      pending_key = key;
      pending.assign(1, '[');
      continue;
    }
    kv.emplace_back(key, value);
  }
  return kv;
}

}  // namespace

std::string write_run_report(const std::string& dir, Model& model, const Data& data) {
  ReportData r;
  const std::string config = read_text_file(dir + "/config.toml");
  r.hyperparams = flatten_toml(config);
  for (const auto& [k, v] : r.hyperparams)
    if (k == "name") r.title = v.size() >= 2 ? v.substr(1, v.size() - 2) : v;
  if (std::filesystem::exists(dir + "/manifest.toml")) r.manifest = read_key_values(dir + "/manifest.toml");
  if (std::filesystem::exists(dir + "/metrics.csv")) r.epochs = read_epoch_csv(dir + "/metrics.csv");
  if (std::filesystem::exists(dir + "/batches.csv")) r.batches = read_batch_csv(dir + "/batches.csv");

  std::string loss_spec = "softmax_xent";
  for (const auto& [k, v] : r.hyperparams)
    if (k == "loss.name") loss_spec = v.substr(1, v.size() - 2);
  auto loss = make_loss(loss_spec);
  Evaluation ev = evaluate(model, *loss, data.test, data.norm, 1000, true);
  r.class_names = data.test.class_names;
  r.confusion = ev.confusion;

  // Most confident mistakes first; then a few correct examples of each class.
  std::vector<int64_t> wrong;
  for (int64_t i = 0; i < data.test.size(); ++i)
    if (ev.predicted[static_cast<size_t>(i)] != data.test.labels[static_cast<size_t>(i)]) wrong.push_back(i);
  std::stable_sort(wrong.begin(), wrong.end(), [&](int64_t a, int64_t b) {
    return ev.confidence[static_cast<size_t>(a)] > ev.confidence[static_cast<size_t>(b)];
  });
  for (size_t j = 0; j < wrong.size() && j < 40; ++j)
    r.mistakes.push_back(example(data.test, wrong[j], ev.predicted[static_cast<size_t>(wrong[j])],
                                 ev.confidence[static_cast<size_t>(wrong[j])]));
  std::vector<int> shown(r.class_names.size() + 1, 0);
  for (int64_t i = 0; i < data.test.size(); ++i) {
    const int32_t y = data.test.labels[static_cast<size_t>(i)];
    if (ev.predicted[static_cast<size_t>(i)] != y || y >= static_cast<int32_t>(shown.size()) || shown[static_cast<size_t>(y)] >= 3) continue;
    ++shown[static_cast<size_t>(y)];
    r.correct.push_back(example(data.test, i, y, ev.confidence[static_cast<size_t>(i)]));
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
  Experiment e = load_experiment(dir + "/config.toml");
  Data data = load_data(e.data, e.seed);
  Model model = build_model_for(e, data.train.sample_shape());
  if (std::filesystem::exists(dir + "/weights.kiln")) {
    model.load_weights(dir + "/weights.kiln");
  } else {
    throw Error(dir + ": no weights.kiln (the run has not finished; resume it first, or run 'kiln eval' on its checkpoint)");
  }
  return write_run_report(dir, model, data);
}

}  // namespace kiln
