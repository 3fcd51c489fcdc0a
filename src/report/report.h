#pragma once
// The HTML report of a run: one self-contained file (charts as inline SVG, images embedded as
// data: PNGs, no scripts or network), with a PNG copy of every figure beside it in figures/.
// The trainer and `kiln report` gather a ReportData; this module only renders it.
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "report/metrics.h"

namespace kiln {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// One row of metrics.csv. val_* are NaN when the run has no validation split. A regression's
// rows have MAE and RMSE (in the target's units) where a classification's have accuracies
// (NaN in the other kind's fields); the training MAE is not computed.
struct EpochRow {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0, lr = 0, seconds = 0;
  double val_loss = std::numeric_limits<double>::quiet_NaN(), val_acc = std::numeric_limits<double>::quiet_NaN();
  double train_rmse = std::numeric_limits<double>::quiet_NaN();
  double test_mae = std::numeric_limits<double>::quiet_NaN(), test_rmse = std::numeric_limits<double>::quiet_NaN();
  double val_mae = std::numeric_limits<double>::quiet_NaN(), val_rmse = std::numeric_limits<double>::quiet_NaN();
};

// One point of the per-batch curves (batches.csv): means over the last log_every batches.
struct BatchRow {
  int64_t step = 0;   // optimizer steps done
  double epoch = 0;   // fractional epoch, for the x axis
  double loss = 0, acc = 0, lr = 0;
};

// A test image with its true and predicted labels.
struct ImageExample {
  int64_t C = 1, H = 1, W = 1;
  std::vector<uint8_t> pixels;  // C·H·W, CHW, as in the dataset
  int32_t label = 0, pred = 0;
  float prob = 0;  // softmax probability of the predicted class
  int64_t index = 0;
};

// The gradient norm of each layer (‖dL/dθ‖ over its parameters) at one point of the
// per-batch curves (gradnorms.csv: a column per layer).
struct GradNormRow {
  int64_t step = 0;
  double epoch = 0;
  std::vector<double> norms;  // one per layer, in the order of the run's layer names
};

// A histogram of one layer's weights at the end of an epoch (histograms.csv).
struct WeightHistogram {
  int64_t epoch = 0;  // 1-based
  std::string layer;
  double lo = 0, hi = 0;        // the bins cover [lo, hi] in equal steps
  std::vector<int64_t> counts;
};

struct LayerRow {
  std::string spec, output;  // "conv 16 5x5 pad=2", "[16, 28, 28]"
  int64_t params = 0, flops = 0;
  int depth = 0;  // nesting (layers inside residual blocks are indented)
};

struct ReportData {
  std::string title;
  KeyValues hyperparams;  // "optimizer.lr" -> "0.05", from the resolved config
  KeyValues manifest;     // seed, git revision, machine, times, ...
  std::vector<EpochRow> epochs;
  std::vector<BatchRow> batches;
  std::vector<std::string> grad_norm_layers;  // the columns of grad_norms
  std::vector<GradNormRow> grad_norms;
  std::vector<WeightHistogram> histograms;
  std::vector<std::string> class_names;
  // A regression (metrics MAE and RMSE in the target's units): no confusion matrix, per-class
  // table or example images; the curves show RMSE and MAE instead of accuracy.
  bool regression = false;
  std::string target;                           // its target column
  ConfusionMatrix confusion;                    // on the test set
  std::vector<ImageExample> mistakes;           // most confident mistakes first
  std::vector<ImageExample> correct;            // a few correctly classified per class
  std::vector<float> first_weights;             // the first learned layer's weights
  std::vector<int64_t> first_weights_shape;     // (K, C, R, S) for a conv, (out, in) for a dense layer
  std::vector<int64_t> input_shape;             // per-sample input (C, H, W): how to show a dense row
  std::vector<LayerRow> layers;
  int64_t total_params = 0, total_flops = 0;
};

// Writes DIR/report.html and DIR/figures/*.png; returns the path of report.html.
std::string write_report(const ReportData& data, const std::string& dir);

}  // namespace kiln
