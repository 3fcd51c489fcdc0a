#pragma once
// An experiment file (TOML) describes one training run: data, model, loss, optimizer,
// schedule and training settings. Any key can be overridden with "section.key=value". Unknown
// keys and wrongly typed values are errors naming the file, the line and the key.
#include <cstdint>
#include <string>
#include <vector>

#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "tensor/tensor.h"

namespace kiln {

struct DataConfig {
  std::string dataset = "fashion-mnist";  // fashion-mnist | mnist | cifar10 | idx
  std::string dir;                        // empty: the dataset's default location
  double validation = 0;                  // fraction of the training set held out
  bool normalize = true;                  // per-channel mean/std from the training set
  std::vector<double> mean, std;          // or given explicitly
  int64_t limit_train = 0, limit_test = 0;  // use only the first N samples (0: all)
  int64_t crop_pad = 0;
  bool hflip = false;
  int64_t cutout = 0;
};

struct TrainConfig {
  int64_t batch_size = 64;
  int64_t epochs = 5;
  int64_t eval_batch_size = 1000;
  int64_t log_every = 50;  // batches between points of the per-batch curves
  int threads = 0;         // 0: all cores
  std::string device = "cpu";  // cpu | cuda
};

struct Experiment {
  std::string name = "experiment";
  std::string description;
  uint64_t seed = 1;
  DataConfig data;
  std::vector<std::string> layers;
  std::string loss = "softmax_xent";
  OptimizerConfig optimizer;
  ScheduleConfig schedule;  // schedule.lr is the optimizer's base learning rate
  TrainConfig train;
  std::string source;    // the file it came from
  std::string resolved;  // the full configuration after defaults and overrides, as TOML
};

// Reads FILE and applies overrides ("optimizer.lr=0.01"; the value is TOML: 0.01, true,
// "text", [1, 2]; a bare word is taken as a string).
Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides = {});
// The same from TOML text (for tests and for run folders' resolved copies).
Experiment parse_experiment(const std::string& toml_text, const std::string& name,
                            const std::vector<std::string>& overrides = {});

// The device named by train.device; throws if this build or machine cannot run on it.
Device device_of(const TrainConfig& t);

// Where a dataset lives when the file names no directory.
std::string default_data_dir(const std::string& dataset);

}  // namespace kiln
