#include "data/csv.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "data/csv_parse.h"
#include "tensor/hash.h"

namespace fs = std::filesystem;

namespace kiln {

namespace {

constexpr uint64_t kHoldOutSalt = 0x637376746573ULL;  // "csvtes": the held-out rows' own stream
constexpr double kHoldOut = 0.2;                      // the share of train.csv held out as test

// Whether data row `i` (0-based, after the header) of train.csv belongs to the held-out test
// split: a pure function of i, so training, `kiln eval` and every rerun agree.
bool held_out(int64_t i) { return hash_uniform(kHoldOutSalt, 0, static_cast<uint64_t>(i)) < kHoldOut; }

// The header's columns, checked: present, named, each name once.
std::vector<std::string> read_header(CsvReader& csv) {
  std::vector<std::string> header;
  if (!csv.next(header))
    throw Error(csv.path() + ": the file is empty (expected a header row naming the columns, then one row per sample)");
  std::set<std::string> seen;
  for (size_t c = 0; c < header.size(); ++c) {
    if (header[c].empty())
      throw Error(csv.where() + ": column " + std::to_string(c + 1) + " of the header has no name (the header: " +
                  column_list(header) + ")");
    if (!seen.insert(header[c]).second)
      throw Error(csv.where() + ": the header names column '" + header[c] + "' twice");
  }
  return header;
}

size_t find_column(const CsvReader& csv, const std::vector<std::string>& header, const std::string& name,
                   const std::string& what) {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end())
    throw Error(csv.where() + ": no column named '" + name + "' (" + what + "); the header's columns are: " +
                column_list(header));
  return static_cast<size_t>(it - header.begin());
}

// A row with the header's number of fields, or an error naming the line.
void check_width(const CsvReader& csv, const std::vector<std::string>& fields, const std::vector<std::string>& header) {
  if (fields.size() != header.size())
    throw Error(csv.where() + ": " + std::to_string(fields.size()) + " fields, expected " + std::to_string(header.size()) +
                " as in the header (" + column_list(header) + ")");
}

constexpr const char* kFeatureRule = "features must be finite numbers; only the label column may hold text";

float number_at(const CsvReader& csv, const std::vector<std::string>& fields, const std::vector<std::string>& header,
                size_t c, const char* rule = kFeatureRule) {
  float v = 0;
  if (!parse_number(fields[c], v))
    throw Error(csv.where() + ", column " + std::to_string(c + 1) + " '" + header[c] + "': '" + fields[c] +
                "' is not a number (" + rule + ")");
  return v;
}

// Sorted distinct labels: numerically when every one is a number ("2" before "10"), else as text.
std::vector<std::string> sorted_classes(const std::vector<std::string>& labels) {
  const std::set<std::string> distinct(labels.begin(), labels.end());
  std::vector<std::string> names(distinct.begin(), distinct.end());
  float a = 0, b = 0;
  if (std::all_of(names.begin(), names.end(), [&](const std::string& s) { return parse_number(s, a); }))
    std::stable_sort(names.begin(), names.end(), [&](const std::string& x, const std::string& y) {
      parse_number(x, a);
      parse_number(y, b);
      return a < b;
    });
  return names;
}

}  // namespace

Dataset load_csv_dir(const std::string& dir, bool train, const ReadOptions& o) {
  const fs::path train_file = fs::path(dir) / "train.csv";
  fs::path test_file;
  for (const char* name : {"test.csv", "val.csv"})
    if (fs::exists(fs::path(dir) / name)) {
      test_file = fs::path(dir) / name;
      break;
    }
  if (!fs::exists(train_file))
    throw Error(dir + ": no train.csv (a CSV dataset is DIR/train.csv, and DIR/test.csv or val.csv, each with a header "
                      "row; without a test file a fifth of train.csv is held out as the test split)");
  // The test split without a test file: the held-out rows of train.csv.
  const bool split_train = test_file.empty();
  const fs::path file = train || split_train ? train_file : test_file;
  // Regression reads the target column (a number per row); classification the label column.
  const bool regression = !o.target.empty();
  const std::string label = regression ? o.target : o.label.empty() ? "label" : o.label;

  CsvReader csv(file.string());
  const std::vector<std::string> header = read_header(csv);
  const size_t label_col =
      find_column(csv, header, label, regression ? "the regression target, data.target" : "the label column, data.label");
  if (header.size() < 2)
    throw Error(csv.where() + ": the header names only the " + (regression ? "target" : "label") + " column; no features");

  Dataset d;
  d.source = file.string() + (split_train ? (train ? " (rows not held out)" : " (held-out rows)") : "");
  for (size_t c = 0; c < header.size(); ++c)
    if (c != label_col) d.features.push_back(header[c]);
  const auto F = static_cast<int64_t>(d.features.size());
  d.sample = Shape{F};
  d.floats = true;
  d.target = regression ? label : std::string();
  std::vector<std::string> labels, fields;
  std::vector<int64_t> lines;
  for (int64_t row = 0; csv.next(fields); ++row) {
    check_width(csv, fields, header);
    if (split_train && held_out(row) == train) continue;
    for (size_t c = 0; c < header.size(); ++c)
      if (c != label_col)
        d.values.push_back(number_at(csv, fields, header, c, regression ? "features must be finite numbers" : kFeatureRule));
    if (regression) {
      d.targets.push_back(number_at(csv, fields, header, label_col,
                                    "data.task = \"regression\": the target must be a finite number on every row"));
      continue;
    }
    if (fields[label_col].empty())
      throw Error(csv.where() + ", column " + std::to_string(label_col + 1) + " '" + label + "': the label is empty");
    labels.push_back(fields[label_col]);
    lines.push_back(csv.line());
  }
  if (regression) {
    if (d.targets.empty())
      throw Error(file.string() + ": no data rows" + (split_train ? std::string(" in this split") : "") +
                  " after the header (expected one row per sample)");
    return d;
  }
  if (labels.empty())
    throw Error(file.string() + ": no data rows" + (split_train ? std::string(" in this split") : "") +
                " after the header (expected one row per sample)");

  d.class_names = o.class_names.empty() ? sorted_classes(labels) : o.class_names;
  std::map<std::string, int32_t> index;
  for (size_t k = 0; k < d.class_names.size(); ++k) index[d.class_names[k]] = static_cast<int32_t>(k);
  d.labels.reserve(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto it = index.find(labels[i]);
    if (it == index.end())
      throw Error(file.string() + ":" + std::to_string(lines[i]) + ", column '" + label + "': class '" + labels[i] +
                  "' is not one of the training classes (" + column_list(d.class_names) + ")");
    d.labels.push_back(it->second);
  }
  return d;
}

void read_csv_features(const std::string& path, const std::vector<std::string>& features, std::vector<float>& values,
                       std::vector<std::string>& rows) {
  CsvReader csv(path);
  const std::vector<std::string> header = read_header(csv);
  std::vector<size_t> cols;
  for (const auto& f : features) cols.push_back(find_column(csv, header, f, "a feature the model was trained on"));
  std::vector<std::string> fields;
  while (csv.next(fields)) {
    check_width(csv, fields, header);
    for (size_t c : cols) values.push_back(number_at(csv, fields, header, c));
    rows.push_back(csv.where());
  }
  if (rows.empty()) throw Error(path + ": no data rows after the header (expected one row per input)");
}

}  // namespace kiln
