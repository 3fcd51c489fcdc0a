#pragma once
// An in-memory image-classification dataset: pixels as the 8-bit values the files hold (a
// quarter of the memory of floats; normalisation happens per batch in the loader), one label
// per sample, and the class names.
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

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
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
};
// One float value standardised, in double: the loader and `kiln predict` share it, so a row
// predicted alone sees the input it saw in evaluation.
inline Real standardise(float v, double mean, double sd) { return static_cast<Real>((v - mean) / sd); }
// Mean and (population) standard deviation of each channel over the whole dataset, from exact
// integer sums (for float samples, in their own units, in double). A constant channel (std 0)
// gets std 1, so normalised values stay finite.
Normalization compute_normalization(const Dataset& data);

}  // namespace kiln
