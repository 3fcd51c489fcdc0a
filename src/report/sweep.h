#pragma once
// The comparison of a sweep's variants: a table (Markdown, CSV and HTML) with one row per
// variant, sorted by final test accuracy, and overlaid test-accuracy and test-loss curves
// (inline SVG in the HTML, PNG copies in figures/).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "report/report.h"

namespace kiln {

struct SweepRow {
  std::string name;                           // "optimizer.lr=0.001" or a given variant name
  std::map<std::string, std::string> values;  // the varied keys and their values
  std::vector<EpochRow> epochs;
  double final_train_loss = 0, final_train_acc = 0, final_test_loss = 0, final_test_acc = 0;
  double best_test_acc = 0, best_test_loss = 0;
  double seconds = 0;  // training time, summed over epochs
  int64_t params = 0;
};

// Writes DIR/comparison.md, comparison.csv, comparison.html and figures/; returns the
// Markdown table.
std::string write_sweep(const std::vector<SweepRow>& rows, const std::string& dir);

}  // namespace kiln
