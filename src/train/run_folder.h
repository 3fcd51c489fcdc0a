#pragma once
// A run folder holds everything about one training run:
//   config.toml     the resolved experiment (defaults and overrides applied)
//   manifest.toml   seed, git revision, machine, library versions, command, start/end times
//   metrics.csv     one row per epoch: train/test loss and accuracy, learning rate, seconds
//   batches.csv     every log_every batches: step, epoch, loss, accuracy, learning rate
//   gradnorms.csv   at the same points: each layer's gradient norm
//   histograms.csv  every epoch: each layer's weight histogram
//   best.kiln       the weights of the epoch with the best validation accuracy (with a split)
//   checkpoint.kiln the latest checkpoint (resume from it)
//   weights.kiln    the final weights
//   report.html     the report, with figures/ beside it
#include <string>
#include <utility>
#include <vector>

#include "report/report.h"

namespace kiln {

// A run or variant name as one safe path component: letters, digits and . - _ = , only
// (others become '_'), no leading dots (no "..", nothing hidden), at most max_len characters.
std::string safe_name(const std::string& name, size_t max_len = 64);

// Creates RUNS/NAME-YYYYmmdd-HHMMSS (NAME made safe; a suffix if it exists) and returns its path.
std::string make_run_dir(const std::string& runs_dir, const std::string& name);


KeyValues machine_manifest();  // host, CPU, cores, git revision, library versions
void write_key_values(const std::string& path, const KeyValues& kv);
KeyValues read_key_values(const std::string& path);

// regression: the columns of a regression's rows (MAE and RMSE instead of accuracies);
// read_epoch_csv tells the two apart by the header.
void write_epoch_csv(const std::string& path, const std::vector<EpochRow>& rows, bool regression = false);
std::vector<EpochRow> read_epoch_csv(const std::string& path);
bool is_regression_epoch_csv(const std::string& path);  // whether its header is a regression's
void write_batch_csv(const std::string& path, const std::vector<BatchRow>& rows);
std::vector<BatchRow> read_batch_csv(const std::string& path);
// gradnorms.csv: step, epoch, then a column per layer (the header names them).
void write_grad_norm_csv(const std::string& path, const std::vector<std::string>& layers, const std::vector<GradNormRow>& rows);
void read_grad_norm_csv(const std::string& path, std::vector<std::string>& layers, std::vector<GradNormRow>& rows);
// histograms.csv: epoch, layer, lo, hi, then the counts separated by spaces.
void write_histogram_csv(const std::string& path, const std::vector<WeightHistogram>& rows);
std::vector<WeightHistogram> read_histogram_csv(const std::string& path);

std::string now_iso8601();
std::string read_text_file(const std::string& path);

}  // namespace kiln
