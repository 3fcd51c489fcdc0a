#pragma once
// Tables of numbers as datasets ([data] dataset = "csv"): DIR/train.csv and DIR/test.csv (or
// val.csv), each with a header row naming the columns; the column named by data.label holds
// the class of each row, every other column is a numeric feature. Classes are the distinct
// labels of train.csv, sorted (numerically when all are numbers). Without a test file, a
// fixed fifth of train.csv's rows (chosen by a hash of the row's index, the same in every run
// and in `kiln eval`) is the test split and the rest the training split.
// Regression (data.task = "regression"): the column named by data.target holds a number per
// row (Dataset::targets) instead of a class; every other column is a feature, as above.
#include <string>
#include <vector>

#include "data/formats.h"

namespace kiln {

// One split of a CSV folder: samples of shape (features), float values as written (the loader
// standardises them), the feature names in Dataset::features. options.label names the label
// column (options.target, when set, the regression target's instead); options.class_names, when given, are the classes the labels must be among (the test
// split reads with the training split's).
Dataset load_csv_dir(const std::string& dir, bool train, const ReadOptions& options);

// The rows of a CSV file as model inputs: the columns named `features`, in that order, found
// by name in the file's header (other columns, the label among them, are ignored). Appends
// features.size() values per row to `values` and "FILE:LINE" to `rows`.
void read_csv_features(const std::string& path, const std::vector<std::string>& features, std::vector<float>& values,
                       std::vector<std::string>& rows);

}  // namespace kiln
