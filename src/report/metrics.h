#pragma once
// Classification metrics from a confusion matrix: per-class precision, recall, F1 and
// support, with macro and support-weighted averages, and aligned text tables of them.
//
// With C[t][p] the number of samples of true class t predicted as p:
//   precision_k = C[k][k] / Σ_t C[t][k]     (of those predicted k, the share that are k)
//   recall_k    = C[k][k] / Σ_p C[k][p]     (of those that are k, the share found)
//   F1_k        = 2 P R / (P + R)
//   support_k   = Σ_p C[k][p]
// A ratio with a zero denominator is 0 (scikit-learn's zero_division=0).
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

struct ClassStats {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;
};

class ConfusionMatrix {
 public:
  ConfusionMatrix() = default;
  explicit ConfusionMatrix(int classes);
  void add(int truth, int predicted, int64_t count = 1);
  int classes() const { return n_; }
  int64_t at(int truth, int predicted) const;
  int64_t total() const;
  double accuracy() const;
  ClassStats stats(int k) const;
  ClassStats macro_average() const;     // unweighted mean over classes; support = total
  ClassStats weighted_average() const;  // weighted by support; support = total

 private:
  int n_ = 0;
  std::vector<int64_t> counts_;  // n_ × n_, row = truth
};

// Rows: true class, columns: predicted, with the class names (truncated to fit).
std::string confusion_table(const ConfusionMatrix& cm, const std::vector<std::string>& names);
// class, precision, recall, f1, support; then accuracy, macro avg, weighted avg.
std::string classification_table(const ConfusionMatrix& cm, const std::vector<std::string>& names);

}  // namespace kiln
