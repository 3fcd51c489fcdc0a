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
  // Or float samples, used as they are (never normalised): the Python module's numpy arrays.
  // Then `pixels` is empty and `floats` is set; the loader copies them into batches.
  std::vector<float> values;
  bool floats = false;
  std::vector<int32_t> labels;           // size() values in [0, classes())
  std::vector<std::string> class_names;  // classes() names

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

// Per-channel normalisation applied by the loader: x = (pixel / 255 - mean[c]) / std[c].
struct Normalization {
  std::vector<float> mean, std;  // one per channel, in units of pixel / 255
};
// Mean and (population) standard deviation of each channel over the whole dataset, from exact
// integer sums. A constant channel (std 0) gets std 1, so normalised values stay finite.
Normalization compute_normalization(const Dataset& data);

}  // namespace kiln
