#include "train/predict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "data/csv.h"
#include "tensor/check.h"

namespace kiln {

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') out += '\\', out += ch;
    else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else out += ch;
  }
  return out + "\"";
}

}  // namespace

namespace {

// The model's output for one normalised input of its input shape.
std::vector<Real> output_of_input(Model& model, const std::vector<Real>& x) {
  const Shape& in = model.input_shape();
  Tensor batch(in.rank() == 3 ? in.batched(1) : Shape{1, in.numel()});
  batch.copy_from_host(x.data());
  Pass pass;
  pass.backward = false;
  const Tensor& out = model.forward(model.device() == Device::cpu ? batch : batch.to(model.device()), pass);
  std::vector<Real> y(static_cast<size_t>(out.numel()));
  out.copy_to_host(y.data());
  return y;
}

// The softmax of the model's output for one normalised input of its input shape.
std::vector<float> probabilities_of_input(Model& model, const std::vector<Real>& x) {
  const std::vector<Real> logits = output_of_input(model, x);
  // Softmax, shifted by the largest logit so that exp cannot overflow.
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<float> probs(logits.size());
  double sum = 0;
  for (size_t k = 0; k < logits.size(); ++k) sum += std::exp(static_cast<double>(logits[k]) - top);
  for (size_t k = 0; k < logits.size(); ++k) probs[k] = static_cast<float>(std::exp(static_cast<double>(logits[k]) - top) / sum);
  return probs;
}

}  // namespace

std::vector<float> class_probabilities(Model& model, const uint8_t* pixels) {
  const Shape& in = model.input_shape();
  const Preprocessing& prep = model.preprocessing();
  const int64_t n = in.numel(), C = in.rank() == 3 ? in[0] : 1, plane = n / C;
  std::vector<Real> x(static_cast<size_t>(n));
  for (int64_t c = 0; c < C; ++c) {
    const double mean = prep.known() ? prep.mean[static_cast<size_t>(c)] : 0;
    const double sd = prep.known() ? prep.std[static_cast<size_t>(c)] : 1;
    for (int64_t k = 0; k < plane; ++k)
      x[static_cast<size_t>(c * plane + k)] = static_cast<Real>((pixels[c * plane + k] / 255.0 - mean) / sd);
  }
  return probabilities_of_input(model, x);
}

namespace {

// One row's values standardised as in training.
std::vector<Real> standardised_row(const Model& model, const float* values) {
  const Preprocessing& prep = model.preprocessing();
  const int64_t F = model.input_shape().numel();
  std::vector<Real> x(static_cast<size_t>(F));
  for (int64_t i = 0; i < F; ++i) {
    const auto c = static_cast<size_t>(i);
    x[c] = prep.known() ? standardise(values[i], prep.mean[c], prep.std[c]) : static_cast<Real>(values[i]);
  }
  return x;
}

}  // namespace

std::vector<float> row_probabilities(Model& model, const float* values) {
  return probabilities_of_input(model, standardised_row(model, values));
}

double row_value(Model& model, const float* values) {
  const Preprocessing& prep = model.preprocessing();
  KILN_CHECK(prep.regression(), "row_value of a model without a regression's target statistics");
  const std::vector<Real> y = output_of_input(model, standardised_row(model, values));
  if (y.size() != 1)
    throw Error("the regression model gives " + std::to_string(y.size()) + " outputs per row, expected 1");
  return y[0] * static_cast<double>(prep.target_std[0]) + prep.target_mean[0];
}

std::vector<Prediction> predict_csv(Model& model, const std::string& path, int64_t top) {
  const Preprocessing& prep = model.preprocessing();
  const Shape& in = model.input_shape();
  if (prep.features.empty() || in.rank() != 1 || in[0] != static_cast<int64_t>(prep.features.size()))
    throw Error(path + ": the model was not trained on a table (its input is " + in.str() +
                (prep.dataset.empty() ? std::string() : ", data.dataset \"" + prep.dataset + "\"") +
                ", and it records no column names): give it image files, not --csv" +
                (in.rank() == 1 ? std::string(" (or name its input columns with --columns A,B,...)") : std::string()));
  std::vector<float> values;
  std::vector<std::string> rows;
  read_csv_features(path, prep.features, values, rows);
  std::vector<Prediction> out;
  out.reserve(rows.size());
  const auto F = static_cast<size_t>(in[0]);
  for (size_t r = 0; r < rows.size(); ++r) {
    const float* row = values.data() + r * F;
    if (prep.regression()) out.push_back({rows[r], {}, prep.label, row_value(model, row)});
    else out.push_back({rows[r], top_classes(model, row_probabilities(model, row), top)});
  }
  return out;
}

void set_feature_columns(Model& model, const std::vector<std::string>& columns) {
  const Shape& in = model.input_shape();
  std::string list;
  for (const auto& c : columns) list += (list.empty() ? "" : ",") + c;
  if (in.rank() != 1)
    throw Error("--columns " + list + ": the model takes inputs of " + in.str() + ", not rows of a table (F values)");
  if (static_cast<int64_t>(columns.size()) != in[0])
    throw Error("--columns " + list + ": " + std::to_string(columns.size()) + " names, but the model takes " +
                std::to_string(in[0]) + " values per row (one name each, in its input order)");
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].empty()) throw Error("--columns " + list + ": name " + std::to_string(i + 1) + " is empty");
    for (size_t j = 0; j < i; ++j)
      if (columns[j] == columns[i]) throw Error("--columns " + list + ": '" + columns[i] + "' is named twice");
  }
  Preprocessing p = model.preprocessing();
  if (!p.features.empty() && p.features != columns) {
    std::string own;
    for (const auto& c : p.features) own += (own.empty() ? "" : ",") + c;
    throw Error("--columns " + list + ": the model records its own columns (" + own +
                "); --columns is for a model that records none (an ONNX file)");
  }
  p.features = columns;
  model.set_preprocessing(std::move(p));
}

std::vector<ClassScore> top_classes(const Model& model, const std::vector<float>& probs, int64_t top) {
  std::vector<int32_t> order(probs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return probs[a] > probs[b]; });
  const auto& names = model.preprocessing().class_names;
  std::vector<ClassScore> out;
  for (int64_t k = 0; k < std::min<int64_t>(top, static_cast<int64_t>(order.size())); ++k) {
    const int32_t i = order[static_cast<size_t>(k)];
    out.push_back({i, names.size() == probs.size() ? names[static_cast<size_t>(i)] : std::to_string(i), probs[i]});
  }
  return out;
}

Prediction predict_image(Model& model, const std::string& path, Fit fit, int64_t top) {
  const Shape& in = model.input_shape();
  if (in.rank() != 3 || (in[0] != 1 && in[0] != 3))
    throw Error(path + ": the model takes inputs of " + in.str() + ", not images (1 or 3 channels, height, width)");
  const DecodedImage img = decode_image_file(path, in[0]);
  const std::vector<uint8_t> px = fit_image(img, in[1], in[2], fit);
  return {path, top_classes(model, class_probabilities(model, px.data()), top)};
}

std::string format_prediction(const Prediction& p, bool json) {
  std::string s;
  char b[64];
  if (!p.target.empty()) {  // a regression: the value, with enough digits to read back the float
    std::snprintf(b, sizeof b, "%.9g", p.value);
    if (json) return "{\"input\": " + json_string(p.input) + ", \"target\": " + json_string(p.target) + ", \"value\": " + b + "}";
    return p.input + "  " + p.target + " " + b;
  }
  if (json) {
    s = "{\"input\": " + json_string(p.input) + ", \"top\": [";
    for (size_t k = 0; k < p.top.size(); ++k) {
      std::snprintf(b, sizeof b, ", \"index\": %d, \"probability\": %.6g}", p.top[k].index, p.top[k].probability);
      s += (k ? ", " : "") + std::string("{\"class\": ") + json_string(p.top[k].name) + b;
    }
    return s + "]}";
  }
  s = p.input;
  for (const auto& c : p.top) {
    std::snprintf(b, sizeof b, " %.4f", c.probability);
    s += "  " + c.name + b;
  }
  return s;
}

}  // namespace kiln
