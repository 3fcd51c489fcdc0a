#include "report/metrics.h"

#include <algorithm>
#include <cstdio>

#include "report/text.h"
#include "tensor/check.h"

namespace kiln {

using report::class_name;
using report::pad_left;
using report::pad_right;
using report::utf8_length;
using report::utf8_truncate;

ConfusionMatrix::ConfusionMatrix(int classes) : n_(classes) {
  if (classes < 0) throw Error("confusion matrix: " + std::to_string(classes) + " classes");
  counts_.assign(static_cast<size_t>(classes) * static_cast<size_t>(classes), 0);
}

void ConfusionMatrix::add(int truth, int predicted, int64_t count) {
  if (truth < 0 || truth >= n_ || predicted < 0 || predicted >= n_)
    throw Error("confusion matrix: label " + std::to_string(truth) + " predicted as " + std::to_string(predicted) +
                ", but there are " + std::to_string(n_) + " classes");
  counts_[static_cast<size_t>(truth) * static_cast<size_t>(n_) + static_cast<size_t>(predicted)] += count;
}

int64_t ConfusionMatrix::at(int truth, int predicted) const {
  KILN_CHECK(truth >= 0 && truth < n_ && predicted >= 0 && predicted < n_,
             "confusion matrix index (" << truth << ", " << predicted << ") of " << n_ << " classes");
  return counts_[static_cast<size_t>(truth) * static_cast<size_t>(n_) + static_cast<size_t>(predicted)];
}

int64_t ConfusionMatrix::total() const {
  int64_t t = 0;
  for (int64_t c : counts_) t += c;
  return t;
}

double ConfusionMatrix::accuracy() const {
  const int64_t t = total();
  int64_t right = 0;
  for (int k = 0; k < n_; ++k) right += at(k, k);
  return t > 0 ? static_cast<double>(right) / static_cast<double>(t) : 0.0;
}

namespace {
double ratio(int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; }
}  // namespace

ClassStats ConfusionMatrix::stats(int k) const {
  int64_t predicted_k = 0, actual_k = 0;
  for (int j = 0; j < n_; ++j) predicted_k += at(j, k), actual_k += at(k, j);
  ClassStats s;
  s.precision = ratio(at(k, k), predicted_k);
  s.recall = ratio(at(k, k), actual_k);
  s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
  s.support = actual_k;
  return s;
}

ClassStats ConfusionMatrix::macro_average() const {
  ClassStats m;
  m.support = total();
  if (n_ == 0) return m;
  for (int k = 0; k < n_; ++k) {
    const ClassStats s = stats(k);
    m.precision += s.precision, m.recall += s.recall, m.f1 += s.f1;
  }
  m.precision /= n_, m.recall /= n_, m.f1 /= n_;
  return m;
}

ClassStats ConfusionMatrix::weighted_average() const {
  ClassStats w;
  w.support = total();
  if (w.support == 0) return w;
  for (int k = 0; k < n_; ++k) {
    const ClassStats s = stats(k);
    const double share = static_cast<double>(s.support) / static_cast<double>(w.support);
    w.precision += share * s.precision, w.recall += share * s.recall, w.f1 += share * s.f1;
  }
  return w;
}

std::string confusion_table(const ConfusionMatrix& cm, const std::vector<std::string>& names) {
  const int n = cm.classes();
  if (n == 0) return "(no classes)\n";
  // Column headers are cut to 10 characters so that ten classes fit an 80-column terminal
  // alongside the row labels (cut to 16); the counts set the minimum width.
  std::vector<std::string> col(static_cast<size_t>(n)), row(static_cast<size_t>(n));
  int64_t cell = 1, label = utf8_length("true \\ pred");
  for (int k = 0; k < n; ++k) {
    col[static_cast<size_t>(k)] = utf8_truncate(class_name(names, k), 10);
    row[static_cast<size_t>(k)] = utf8_truncate(class_name(names, k), 16);
    cell = std::max(cell, utf8_length(col[static_cast<size_t>(k)]));
    label = std::max(label, utf8_length(row[static_cast<size_t>(k)]));
    for (int j = 0; j < n; ++j) cell = std::max<int64_t>(cell, static_cast<int64_t>(std::to_string(cm.at(k, j)).size()));
  }
  std::string out = pad_right("true \\ pred", label);
  for (int k = 0; k < n; ++k) out += "  " + pad_left(col[static_cast<size_t>(k)], cell);
  out += "\n";
  for (int t = 0; t < n; ++t) {
    out += pad_right(row[static_cast<size_t>(t)], label);
    for (int p = 0; p < n; ++p) out += "  " + pad_left(std::to_string(cm.at(t, p)), cell);
    out += "\n";
  }
  return out;
}

std::string classification_table(const ConfusionMatrix& cm, const std::vector<std::string>& names) {
  const int n = cm.classes();
  int64_t label = utf8_length("weighted avg");
  for (int k = 0; k < n; ++k) label = std::max(label, utf8_length(utf8_truncate(class_name(names, k), 24)));
  const int64_t w = 10;
  auto line = [&](const std::string& name, const std::string& p, const std::string& r, const std::string& f, int64_t support) {
    return pad_left(name, label) + pad_left(p, w) + pad_left(r, w) + pad_left(f, w) + pad_left(std::to_string(support), w) + "\n";
  };
  std::string out = pad_left("", label) + pad_left("precision", w) + pad_left("recall", w) + pad_left("f1-score", w) +
                    pad_left("support", w) + "\n\n";
  for (int k = 0; k < n; ++k) {
    const ClassStats s = cm.stats(k);
    out += line(utf8_truncate(class_name(names, k), 24), report::fixed(s.precision, 4), report::fixed(s.recall, 4),
                report::fixed(s.f1, 4), s.support);
  }
  out += "\n" + line("accuracy", "", "", report::fixed(cm.accuracy(), 4), cm.total());
  const ClassStats m = cm.macro_average(), wa = cm.weighted_average();
  out += line("macro avg", report::fixed(m.precision, 4), report::fixed(m.recall, 4), report::fixed(m.f1, 4), m.support);
  out += line("weighted avg", report::fixed(wa.precision, 4), report::fixed(wa.recall, 4), report::fixed(wa.f1, 4), wa.support);
  return out;
}

}  // namespace kiln
