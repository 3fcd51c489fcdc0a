#pragma once
// An experiment file (TOML) describes one training run: data, model, loss, optimizer,
// schedule and training settings. Any key can be overridden with "section.key=value". Each
// key is declared once, in its section's fields() (config/fields.h), with its default, its
// allowed values and its help; reading, writing the resolved copy, --help and suggestions
// all come from there. Unknown keys and wrongly typed or out-of-range values are errors
// naming the file, the line and the key.
#include <cstdint>
#include <string>
#include <vector>

#include "config/fields.h"
#include "data/formats.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"

namespace kiln {

struct DataConfig {
  std::string dataset = "fashion-mnist";  // a format of data/formats.cpp
  std::string dir;                        // empty: the format's default location
  double validation = 0;                  // fraction of the training set held out
  bool normalize = true;                  // per-channel mean/std from the training set
  std::vector<double> mean, std;          // or given explicitly
  int64_t limit_train = 0, limit_test = 0;  // use only the first N samples (0: all)
  int64_t crop_pad = 0;
  std::string crop_fill = "black";  // or "reflect": what the crop's padding shows
  bool hflip = false;
  bool alternate_flip = false;
  int64_t cutout = 0;
  // Image folders (data/image_folder.h): the sample size and channels, how other sizes fit,
  // the cache of decoded files, whether unreadable files are skipped.
  int64_t image_size = 0, channels = 0;
  std::string fit = "resize";
  std::string cache_dir;
  bool skip_bad = false;
  std::string label = "label";  // CSV: the class column's name
  // What the model learns: "classification" (a class per sample, softmax outputs) or
  // "regression" (CSV only: the number in column `target`, with loss "mse").
  std::string task = "classification";
  std::string target;
  bool regression() const { return task == "regression"; }
  void fields(Fields& f);
};

struct LossConfig {
  std::string name = "softmax_xent";
  double label_smoothing = 0;
  std::string spec() const;  // what make_loss takes: "softmax_xent smoothing=0.1"
  void fields(Fields& f);
};

struct TrainConfig {
  int64_t batch_size = 64;
  int64_t epochs = 5;
  int64_t eval_batch_size = 1000;
  bool eval_flip = false;      // test-time flips: validation and test logits averaged with the mirror image's
  int64_t eval_translate = 0;  // test-time translations by this many pixels (train/evaluate.h); 0: off
  int64_t log_every = 50;      // batches between points of the per-batch curves
  int64_t threads = 0;         // 0: all cores
  std::string device = "cpu";  // cpu | cuda
  std::string precision = "tf32";  // tf32 | fp32 | bf16 (see experiment.cpp; bf16: CPU mixed precision)
  double clip_grad_norm = 0;   // scale the gradient down to this global norm when above (0: off)
  bool sync_bn = false;        // batch norm over the global batch with several ranks (else per rank)
  int64_t early_stopping = 0;  // stop after this many epochs without a better validation accuracy (0: off)
  void fields(Fields& f);
};

struct Experiment {
  std::string name = "experiment";
  std::string description;
  uint64_t seed = 1;
  DataConfig data;
  std::vector<std::string> layers;
  LossConfig loss;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;  // schedule.lr is the key [optimizer] lr
  TrainConfig train;
  std::string source;    // the file it came from
  std::string resolved;  // the full configuration after defaults and overrides, as TOML
  // Every key of an experiment file, section by section.
  void fields(Fields& f);
};

// Reads FILE and applies overrides ("optimizer.lr=0.01"; the value is TOML: 0.01, true,
// "text", [1, 2]; a bare word is taken as a string).
Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides = {});
// The same from TOML text (for tests and for run folders' resolved copies).
Experiment parse_experiment(const std::string& toml_text, const std::string& name,
                            const std::vector<std::string>& overrides = {});

// Every key an experiment file may hold ("optimizer.lr"), with its type, its value in `e` (by
// default: the defaults) as TOML text, the allowed values and help: for `kiln help keys`, the
// report's hyper-parameter table and suggestions.
struct KeyInfo {
  std::string key, type, value, allowed, help;
};
std::vector<KeyInfo> experiment_keys(const Experiment& e = Experiment{});

}  // namespace kiln
