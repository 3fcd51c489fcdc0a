#include "config/experiment.h"

#include <fstream>
#include <sstream>

#include "config/toml_fields.h"
#include "data/formats.h"
#include "loss/loss.h"
#include "tensor/check.h"

namespace kiln {

namespace {

// Far beyond what any run here needs, and small enough that the products built from them
// (a batch's bytes, an epoch's steps) cannot overflow.
constexpr double kMaxBatch = 1 << 20, kMaxEpochs = 1e6, kMaxSamples = 1LL << 40;
constexpr double kMaxThreads = 1024;

}  // namespace

void DataConfig::fields(Fields& f) {
  f.section("data");
  f.key("dataset", dataset, "the dataset's format", data_format_names());
  f.key("dir", dir, "the folder holding its files (empty: the format's default)");
  f.key("validation", validation, "the fraction of the training set held out for validation", Bounds::below(0, 1));
  f.key("normalize", normalize, "per-channel mean/std normalisation, from the training set");
  f.key("mean", mean, "per-channel means instead (pixel/255 units)", Bounds::any());
  f.key("std", std, "per-channel standard deviations instead", Bounds::positive());
  f.key("limit_train", limit_train, "use only the first N training samples (0: all)", Bounds::between(0, kMaxSamples));
  f.key("limit_test", limit_test, "use only the first N test samples (0: all)", Bounds::between(0, kMaxSamples));
  f.key("crop_pad", crop_pad, "random crops from the image padded by this many pixels (0: off)", Bounds::between(0, 64));
  f.key("crop_fill", crop_fill,
        "what crop_pad's padding shows: black pixels, or the image reflected at its edges (row -1 is row 1, as "
        "PyTorch's reflect padding; crop_pad below the image's sides)",
        {"black", "reflect"});
  f.key("hflip", hflip, "random horizontal flips");
  f.key("alternate_flip", alternate_flip,
        "horizontal flips on alternate epochs: each image's side in even epochs from a seeded coin, the other side in odd "
        "ones (airbench); replaces hflip's coin per epoch");
  f.key("cutout", cutout, "zero a random square of this side (0: off)", Bounds::between(0, 1024));
  f.key("image_size", image_size, "folder: the side of the square samples images are fitted to (0: the first image's size)",
        Bounds::between(0, 4096));
  f.key("channels", channels, "folder: 1 (grey) or 3 (RGB) (0: as the first image)", Bounds::between(0, 3));
  f.key("fit", fit, "folder: how images of another size or aspect are fitted", {"resize", "crop"});
  f.key("cache_dir", cache_dir, "folder: keep decoded images in this folder between runs (empty: decode every run)");
  f.key("skip_bad", skip_bad, "folder: skip unreadable or non-image files, counting them, instead of stopping");
  f.key("label", label, "csv: the name of the column holding each row's class (every other column is a feature)");
  f.key("task", task,
        "what the model learns: a class per sample, or (csv only) the number in column data.target, with loss.name = "
        "\"mse\"; its metrics are then MAE and RMSE in the target's units",
        {"classification", "regression"});
  f.key("target", target,
        "csv, data.task = \"regression\": the numeric column to predict (every other column is a feature); the model "
        "learns it standardised, and its mean and std are saved with the weights");
}

std::string LossConfig::spec() const {
  if (label_smoothing == 0) return name;
  std::ostringstream os;
  os << name << " smoothing=" << label_smoothing;
  return os.str();
}

void LossConfig::fields(Fields& f) {
  f.section("loss");
  f.key("name", name, "the loss", loss_names());
  f.key("label_smoothing", label_smoothing, "softmax_xent: the share of the target spread over all classes",
        Bounds::below(0, 1));
}

void TrainConfig::fields(Fields& f) {
  f.section("train");
  f.key("batch_size", batch_size, "samples per optimizer step", Bounds::between(1, kMaxBatch));
  f.key("epochs", epochs, "passes over the training set", Bounds::between(1, kMaxEpochs));
  f.key("eval_batch_size", eval_batch_size, "samples per batch when evaluating", Bounds::between(1, kMaxBatch));
  f.key("eval_flip", eval_flip,
        "test-time flip augmentation: validation and test logits are the mean of the image's and its mirror's "
        "(image inputs only; kiln eval follows it)");
  f.key("eval_translate", eval_translate,
        "test-time translations by this many pixels (0: off): validation and test logits are 1/2 the image's + 1/4 "
        "its copy moved by (t, t) + 1/4 by (-t, -t), edges reflected (with eval_flip each view is flip-averaged: 6 "
        "forward passes at t = 1, airbench94's test-time augmentation); image inputs only, kiln eval follows it",
        Bounds::between(0, 64));
  f.key("log_every", log_every, "batches between points of the per-batch curves", Bounds::between(1, 1e9));
  f.key("threads", threads, "threads of kiln's pool (0: all cores)", Bounds::between(0, kMaxThreads));
  f.key("device", device, "where to train", {"cpu", "cuda"});
  f.key("precision", precision,
        "matrix products and convolutions: cuda on TF32 tensor cores (tf32: 10-bit mantissa, fp32 sums; the CPU "
        "treats tf32 as fp32), exact (fp32), or mixed precision (bf16, CPU with AVX512-BF16 only, refused elsewhere: "
        "inputs rounded to bf16, fp32 sums, fp32 weights and optimizer state; today slower than fp32 on nets whose "
        "3x3 and 5x5 convolutions fp32 runs with Winograd: docs/bf16-speed.md)",
        {"tf32", "fp32", "bf16"});
  f.key("clip_grad_norm", clip_grad_norm, "scale each step's gradient down to this global L2 norm when it is larger (0: off)",
        Bounds::at_least(0));
  f.key("sync_bn", sync_bn,
        "with several ranks (mpirun): batch norm normalises with the statistics of the whole global batch, "
        "summed over the ranks, so N ranks train as one process does; every batch must then give each rank a sample "
        "(false: each rank normalises its own shard, as PyTorch DDP by default)");
  f.key("early_stopping", early_stopping,
        "stop after this many epochs without a better validation accuracy (0: off; needs data.validation)",
        Bounds::between(0, kMaxEpochs));
}

void Experiment::fields(Fields& f) {
  f.section("");
  f.key("name", name, "the run's name (its folder is NAME-DATE-TIME)");
  f.key("description", description, "free text, shown in the report");
  f.key("seed", seed, "seeds the weights, the data order and every random draw", Bounds::between(0, 9.007199254740992e15));
  data.fields(f);
  f.section("model");
  f.key("layers", layers, "the network, one layer a string (see `kiln help layers`)");
  loss.fields(f);
  optimizer.fields(f);
  schedule.fields(f);
  train.fields(f);
}

namespace {

// Regression's requirements, before any data is read: a table, a named numeric column, the MSE.
void check_task(const Experiment& e, const std::string& file) {
  if (!e.data.regression()) {
    if (!e.data.target.empty())
      throw Error(file + ": data.target = \"" + e.data.target +
                  "\" is the column of a regression; set data.task = \"regression\" too (the class column of a "
                  "classification is data.label)");
    return;
  }
  if (e.data.dataset != "csv")
    throw Error(file + ": data.task = \"regression\" reads a numeric column of a table: it needs data.dataset = \"csv\", "
                       "not \"" + e.data.dataset + "\"");
  if (e.data.target.empty())
    throw Error(file + ": data.task = \"regression\": name the column to predict with data.target = \"COLUMN\"");
  if (e.loss.name != "mse")
    throw Error(file + ": data.task = \"regression\" with loss.name = \"" + e.loss.name +
                "\", a classification loss: set loss.name = \"mse\" (in the [loss] table, or --set loss.name=mse)");
}

std::string resolved_toml(Experiment e) {
  TomlWriter w;
  e.fields(w);
  return w.str("# kiln experiment, fully resolved (defaults and --set overrides applied)\n");
}

Experiment from_toml(const toml::value& root, const std::string& file) {
  Experiment e;
  e.source = file;
  TomlReader reader(root, file);
  e.fields(reader);
  reader.finish();
  if (e.data.dir.empty()) e.data.dir = data_format(e.data.dataset).default_dir;
  if (e.layers.empty()) throw Error(file + ": [model] layers is missing or empty");
  if (!e.data.mean.empty() || !e.data.std.empty())
    if (e.data.mean.size() != e.data.std.size())
      throw Error(file + ": data.mean and data.std need one value each per channel, got " +
                  std::to_string(e.data.mean.size()) + " and " + std::to_string(e.data.std.size()));
  if (e.data.channels == 2)
    throw Error(file + ": data.channels = 2: images are read as 1 channel (grey) or 3 (RGB), or 0 for as they are");
  check_task(e, file);
  if (e.train.early_stopping > 0 && e.data.validation == 0)
    throw Error(file + ": train.early_stopping watches the validation accuracy: set data.validation too (e.g. 0.1)");
  e.schedule.total_epochs = e.train.epochs;
  // What only the optimizer or schedule kind can judge (nesterov without momentum, say), now,
  // so that a bad value fails before any data is read.
  make_optimizer(e.optimizer, 1);
  make_schedule(e.schedule);
  e.resolved = resolved_toml(e);
  return e;
}

// Lists every declared key with its type, value and allowed values.
class KeyLister : public Fields {
 public:
  std::vector<KeyInfo> keys;
  void section(const char* name) override { section_ = name; }
  void key(const char* name, std::string& v, const char* help, const std::vector<std::string>& choices) override {
    std::string allowed;
    for (const auto& c : choices) allowed += (allowed.empty() ? "" : " | ") + c;
    add(name, "string", toml_quote(v), allowed, help);
  }
  void key(const char* name, double& v, const char* help, Bounds b) override { add(name, "number", toml_number(v), b.text(), help); }
  void key(const char* name, int64_t& v, const char* help, Bounds b) override {
    add(name, "integer", std::to_string(v), b.text(), help);
  }
  void key(const char* name, bool& v, const char* help) override { add(name, "boolean", v ? "true" : "false", "", help); }
  void key(const char* name, std::vector<double>& v, const char* help, Bounds each) override {
    std::string t = "[";
    for (size_t i = 0; i < v.size(); ++i) t += (i ? ", " : "") + toml_number(v[i]);
    add(name, "array of numbers", t + "]", "each " + each.text(), help);
  }
  void key(const char* name, std::vector<std::string>& v, const char* help) override {
    std::string t = "[";
    for (size_t i = 0; i < v.size(); ++i) t += (i ? ", " : "") + toml_quote(v[i]);
    add(name, "array of strings", t + "]", "", help);
  }

 private:
  void add(const char* name, const char* type, const std::string& def, const std::string& allowed, const char* help) {
    keys.push_back({section_.empty() ? name : section_ + "." + name, type, def, allowed, help});
  }
  std::string section_;
};

}  // namespace

std::vector<KeyInfo> experiment_keys(const Experiment& experiment) {
  Experiment e = experiment;
  KeyLister l;
  e.fields(l);
  return l.keys;
}

Experiment parse_experiment(const std::string& text, const std::string& name, const std::vector<std::string>& overrides) {
  toml::value root = parse_toml(text, name);
  for (const auto& o : overrides) apply_override(root, o);
  return from_toml(root, name);
}

Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_experiment(read_file(path, "experiment file"), path, overrides);
}

}  // namespace kiln
