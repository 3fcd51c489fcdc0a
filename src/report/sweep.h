#pragma once
// The comparison of a sweep's variants: a table (Markdown, CSV and HTML) with one row per
// variant and its settings, ranked by final validation accuracy (a regression's: by final
// validation RMSE, lowest first) (never by the test set: with
// no validation split the variants are listed unranked), each linking its own report, and
// overlaid test-accuracy and test-loss curves (inline SVG in the HTML, PNG copies in figures/).
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "report/report.h"

namespace kiln {

struct SweepRow {
  std::string name;                           // "optimizer.lr=0.001" or a given variant name
  std::map<std::string, std::string> values;  // the varied keys and their values
  std::string settings;                       // every override of the variant ("a=1; b=2")
  std::string report;                         // its report.html, relative to the sweep folder ("" if none)
  std::vector<EpochRow> epochs;
  double final_train_loss = 0, final_train_acc = 0, final_test_loss = 0, final_test_acc = 0;
  double best_test_acc = 0, best_test_loss = 0;
  double final_val_acc = NAN, best_val_acc = NAN;  // NaN without a validation split
  // A regression's (metrics.csv with RMSE and MAE columns): errors in the target's units.
  bool regression = false;
  double final_train_rmse = NAN, final_test_rmse = NAN, best_test_rmse = NAN, final_test_mae = NAN;
  double final_val_rmse = NAN, best_val_rmse = NAN;
  double seconds = 0;  // training time, summed over epochs
  int64_t params = 0;
};

// Writes DIR/comparison.md, comparison.csv, comparison.html and figures/; returns the
// Markdown table.
std::string write_sweep(const std::vector<SweepRow>& rows, const std::string& dir);

}  // namespace kiln
