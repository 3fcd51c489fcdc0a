#include "train/setup.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "data/formats.h"
#include "model/build.h"
#include "train/progress.h"

namespace fs = std::filesystem;

namespace kiln {

namespace {

// The folder, or an error that says where the files come from and which key to set.
void check_folder(const DataConfig& cfg, const DataFormat& f) {
  if (cfg.dir.empty())
    throw Error("data.dir: no folder given for dataset '" + cfg.dataset + "': " + f.how_to_get);
  std::error_code ec;
  if (fs::is_directory(cfg.dir, ec)) return;
  std::string where = cfg.dir;
  if (fs::path(cfg.dir).is_relative()) where += " (relative to the current folder " + fs::current_path(ec).string() + ")";
  throw Error("data.dir = \"" + cfg.dir + "\": no such folder " + where + ". " + f.help + ": " + f.how_to_get +
              " (--set data.dir=DIR, or dir in the [data] table)");
}

Dataset read_split(const DataConfig& cfg, const DataFormat& f, bool train, bool progress,
                   const std::vector<std::string>& classes) {
  ReadOptions o;
  o.label = cfg.label;
  o.target = cfg.regression() ? cfg.target : std::string();
  o.class_names = classes;
  o.image_size = cfg.image_size;
  o.channels = cfg.channels;
  o.fit = cfg.fit;
  o.cache_dir = cfg.cache_dir;
  o.skip_bad = cfg.skip_bad;
  std::optional<Progress> bar;
  o.progress = [&](int64_t done, int64_t total) {
    if (!bar) bar.emplace(std::string("decoding ") + (train ? "train" : "test"), total, progress);
    bar->update(done, "");
    if (done == total) bar->finish();
  };
  Dataset d = f.read(cfg.dir, train, o);
  if (static_cast<int64_t>(f.class_names.size()) == d.classes()) d.class_names = f.class_names;
  return d;
}

// Refuses files that are recognisably another dataset than the one named; a note when the
// files of a named set are not its standard copy.
std::string check_identity(const DataConfig& cfg, const DataFormat& f, const Dataset& train) {
  const DataFormat* is = recognise(train);
  if (is && is->name != f.name && f.name != "idx")
    throw Error(cfg.dir + " holds " + is->help.substr(0, is->help.find(':')) +
                " (its training labels are those of the standard files), but data.dataset = \"" + cfg.dataset +
                "\": set data.dataset = \"" + is->name + "\", or data.dir to a folder with " + cfg.dataset + "'s files");
  if (!is && !f.known_train_labels.empty())
    return cfg.dir + " is not the standard " + cfg.dataset + " (its training labels differ from the standard files')";
  return "";
}

}  // namespace

Dataset load_split(const DataConfig& cfg, bool train, bool progress, const std::vector<std::string>& classes) {
  const DataFormat& f = data_format(cfg.dataset);
  check_folder(cfg, f);
  Dataset d = read_split(cfg, f, train, progress, classes);
  const int64_t limit = train ? cfg.limit_train : cfg.limit_test;
  if (limit > 0) d.truncate(limit);
  return d;
}

Data load_data(const DataConfig& cfg, uint64_t seed, bool progress) {
  const DataFormat& f = data_format(cfg.dataset);
  check_folder(cfg, f);
  Data d;
  d.train = read_split(cfg, f, true, progress, {});
  d.note = check_identity(cfg, f, d.train);
  // The test labels are read as the training classes (a CSV's classes are its distinct labels).
  d.test = read_split(cfg, f, false, progress, d.train.class_names);
  if (d.test.sample_shape() != d.train.sample_shape())
    throw Error(d.test.source + ": test samples are " + d.test.sample_shape().str() + " but training samples (" +
                d.train.source + ") are " + d.train.sample_shape().str());
  if (cfg.limit_train > 0) d.train.truncate(cfg.limit_train);
  if (cfg.limit_test > 0) d.test.truncate(cfg.limit_test);
  if (cfg.validation > 0) d.val = split_validation(d.train, cfg.validation, seed);
  const int64_t C = d.train.sample_shape()[0];
  if (!cfg.mean.empty() || !cfg.std.empty()) {
    if (static_cast<int64_t>(cfg.mean.size()) != C || static_cast<int64_t>(cfg.std.size()) != C)
      throw Error("data.mean / data.std: need " + std::to_string(C) + " values each (one per channel)");
    d.norm.mean.assign(cfg.mean.begin(), cfg.mean.end());
    d.norm.std.assign(cfg.std.begin(), cfg.std.end());
  } else if (cfg.normalize) {
    d.norm = compute_normalization(d.train);
  } else {
    d.norm.mean.assign(static_cast<size_t>(C), 0.f);
    d.norm.std.assign(static_cast<size_t>(C), 1.f);
  }
  if (d.train.regression()) {
    if (cfg.normalize) compute_target_normalization(d.train, d.norm);
    else d.norm.target_mean = {0.f}, d.norm.target_std = {1.f};
  }
  d.augment.crop_pad = cfg.crop_pad;
  d.augment.crop_reflect = cfg.crop_fill == "reflect";
  d.augment.hflip = cfg.hflip;
  d.augment.alternate_flip = cfg.alternate_flip;
  d.augment.cutout = cfg.cutout;
  return d;
}

void init_model_from_data(Model& model, const Data& data, uint64_t seed) {
  if (!model.wants_data() || data.train.size() == 0) return;
  Loader sample(data.train, std::min<int64_t>(5000, data.train.size()), /*shuffle=*/true, seed, data.norm, Augment{});
  sample.start_epoch(0);
  Batch b;
  KILN_CHECK(sample.next(b), "no batch from a non-empty training set");
  model.init_from_data(b.x);
}

Shape sample_shape_of(const Experiment& e) {
  if (const auto& known = data_format(e.data.dataset).sample) return *known;
  return load_split(e.data, false).sample_shape();
}

Model build_model_for(const Experiment& e, const Shape& input) {
  if (e.train.eval_flip && input.rank() != 3)
    throw Error(e.source + ": train.eval_flip = true mirrors images, but the samples are " + input.str() +
                ", not (channels, height, width)");
  if (e.train.eval_translate > 0 && (input.rank() != 3 || e.train.eval_translate >= std::min(input[1], input[2])))
    throw Error(e.source + ": train.eval_translate = " + std::to_string(e.train.eval_translate) +
                " moves images by that many pixels, but the samples are " + input.str() +
                (input.rank() == 3 ? " (at most " + std::to_string(std::min(input[1], input[2]) - 1) + ")"
                                   : ", not (channels, height, width)"));
  try {
    return build_model(input, e.layers, e.seed);
  } catch (const Error& err) {
    throw Error(e.source + ": [model] " + err.what());
  }
}

void check_memory(const Model& model, int64_t batch_size) {
  const double bytes_per = static_cast<double>(sizeof(Real));
  double per_sample = static_cast<double>(model.input_shape().numel()), largest = 0;
  std::string largest_spec;
  for (const auto& row : model.summary()) {
    const double n = static_cast<double>(row.output.numel());
    per_sample += n;
    if (n > largest) largest = n, largest_spec = row.spec;
  }
  // Each layer's output and its gradient, for the whole batch; the parameters four times over
  // (values, gradients, two moments).
  const double need = 2 * per_sample * bytes_per * static_cast<double>(batch_size) +
                      4 * static_cast<double>(model.param_count()) * bytes_per;
  const double have = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  if (have > 0 && need > have) {
    char b[512];
    std::snprintf(b, sizeof b,
                  "a batch of %lld needs about %.1f GB for its activations and gradients, more than this machine's %.1f "
                  "GB; the largest is layer '%s' (%.2f GB a batch): lower train.batch_size or the layer's size",
                  static_cast<long long>(batch_size), need / 1e9, have / 1e9, largest_spec.c_str(),
                  2 * largest * bytes_per * static_cast<double>(batch_size) / 1e9);
    throw Error(b);
  }
}

Preprocessing preprocessing_of(const Data& data, const DataConfig& cfg) {
  const bool table = !data.train.features.empty();
  const std::string column = data.train.regression() ? data.train.target : cfg.label;
  return {data.norm.mean,     data.norm.std,         data.train.class_names,
          cfg.dataset,        data.train.features,   table ? column : std::string(),
          data.norm.target_mean, data.norm.target_std};
}

Normalization normalization_of(const Preprocessing& p) { return {p.mean, p.std, p.target_mean, p.target_std}; }

}  // namespace kiln
