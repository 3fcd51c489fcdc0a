#pragma once
// An in-memory dataset: pixels as the 8-bit values the files hold (a quarter of the memory of
// floats; normalisation happens per batch in the loader), or float samples; one label per
// sample and the class names (classification), or one numeric target per sample (regression,
// CSV tables with data.task = "regression": then labels and class_names are empty).
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace kiln {

struct Dataset {
  std::string source;                    // where it was read from, for messages
  Shape sample;                          // per-sample shape (C, H, W)
  std::vector<uint8_t> pixels;           // size() × sample.numel(), sample-major, CHW within
  // Or float samples: the Python module's numpy arrays (used as they are), CSV tables
  // (standardised per column by the loader). Then `pixels` is empty and `floats` is set.
  std::vector<float> values;
  bool floats = false;
  std::vector<int32_t> labels;           // size() values in [0, classes())
  std::vector<std::string> class_names;  // classes() names
  std::vector<std::string> features;     // tables (CSV): the name of each of the sample's values
  std::string target;                    // regression: the target column's name ("": classification)
  std::vector<float> targets;            // regression: size() values, in the column's units

  bool regression() const { return !target.empty(); }
  int64_t size() const { return static_cast<int64_t>(regression() ? targets.size() : labels.size()); }
  const Shape& sample_shape() const { return sample; }
  int64_t classes() const { return static_cast<int64_t>(class_names.size()); }
  // The 8-bit pixels of sample i (C·H·W values, CHW).
  std::vector<uint8_t> sample_pixels(int64_t i) const;
  const uint8_t* sample_data(int64_t i) const { return pixels.data() + i * sample.numel(); }
  const float* sample_values(int64_t i) const { return values.data() + i * sample.numel(); }
  // Keeps the first n samples (no-op when n ≥ size()).
  void truncate(int64_t n);
};

// Moves a seeded random `fraction` of `train` (round(fraction · size) samples, a uniform random
// subset) into the returned validation set; both keep their relative order. Throws if either
// part would be empty.
Dataset split_validation(Dataset& train, double fraction, uint64_t seed);

// Per-channel normalisation applied by the loader: x = (pixel / 255 - mean[c]) / std[c]; for
// float samples x = (value - mean[c]) / std[c] (none when mean is empty).
struct Normalization {
  std::vector<float> mean, std;  // one per channel, in units of pixel / 255
  // Regression: the target's mean and standard deviation (one each; empty for classification).
  // The loader hands the model (target - mean) / sd, so the MSE is taken on a standardised
  // target whatever the column's units; predictions are mapped back as y · sd + mean.
  std::vector<float> target_mean = {}, target_std = {};
};
// One float value standardised, in double: the loader and `kiln predict` share it, so a row
// predicted alone sees the input it saw in evaluation.
inline Real standardise(float v, double mean, double sd) { return static_cast<Real>((v - mean) / sd); }
// Mean and (population) standard deviation of each channel over the whole dataset, from exact
// integer sums (for float samples, in their own units, in double). A constant channel (std 0)
// gets std 1, so normalised values stay finite.
Normalization compute_normalization(const Dataset& data);
// Regression: the mean and population standard deviation of the training targets, in double,
// into norm.target_mean / target_std (std 1 for a constant target).
void compute_target_normalization(const Dataset& data, Normalization& norm);

}  // namespace kiln
