#include "train/setup.h"

#include "data/formats.h"
#include "model/build.h"

namespace kiln {

static Dataset read_split(const DataConfig& cfg, bool train) {
  const DataFormat& f = data_format(cfg.dataset);
  Dataset d = f.read(cfg.dir, train);
  if (static_cast<int64_t>(f.class_names.size()) == d.classes()) d.class_names = f.class_names;
  return d;
}

Data load_data(const DataConfig& cfg, uint64_t seed) {
  if (cfg.dir.empty()) throw Error("data.dir: no directory given for dataset '" + cfg.dataset + "'");
  Data d;
  d.train = read_split(cfg, true);
  d.test = read_split(cfg, false);
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
  d.augment.crop_pad = cfg.crop_pad;
  d.augment.hflip = cfg.hflip;
  d.augment.cutout = cfg.cutout;
  return d;
}

Shape sample_shape_of(const Experiment& e) {
  if (const auto& known = data_format(e.data.dataset).sample) return *known;
  return load_data(e.data, e.seed).train.sample_shape();
}

Model build_model_for(const Experiment& e, const Shape& input) {
  try {
    return build_model(input, e.layers, e.seed);
  } catch (const Error& err) {
    throw Error(e.source + ": [model] " + err.what());
  }
}

}  // namespace kiln
