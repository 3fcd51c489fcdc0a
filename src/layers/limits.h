#pragma once
// Bounds on layer sizes, checked by the constructors (where C++, Python and the experiment
// files all enter): far beyond any network trained here, and low enough that every product
// of them (a weight tensor's elements, an index) fits comfortably in 64 bits and a tensor in
// memory. A size past them is a typo or a hostile file, reported with the layer named.
#include <cstdint>
#include <string>

#include "tensor/check.h"

namespace kiln {

constexpr int64_t kMaxFeatures = int64_t{1} << 24;        // dense widths, channels, bn features
constexpr int64_t kMaxWindow = 1024;                      // kernel sides, strides, padding, pool windows
constexpr int64_t kMaxTensorElements = int64_t{1} << 28;  // 1 GiB of float32 per parameter tensor

// Throws "NAME: WHAT must be in [lo, hi], got v".
inline void check_range(const std::string& layer, const char* what, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    throw Error(layer + ": " + what + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                std::to_string(v));
}

// Throws when a parameter tensor of these dims would be larger than kMaxTensorElements.
inline void check_tensor_size(const std::string& layer, std::initializer_list<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d > 0 && n > kMaxTensorElements / d)
      throw Error(layer + ": its weights would hold more than " + std::to_string(kMaxTensorElements) + " numbers");
    n *= d;
  }
  if (n > kMaxTensorElements)
    throw Error(layer + ": its weights would hold " + std::to_string(n) + " numbers, more than " +
                std::to_string(kMaxTensorElements));
}

}  // namespace kiln
