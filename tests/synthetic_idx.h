#pragma once
// Writes a tiny, learnable MNIST-format dataset (idx files) for end-to-end tests: 8x8 images of
// 4 classes, class k is a bright 3x3 patch in quadrant k plus noise.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tensor/rng.h"

namespace kiln::testing {

inline void write_be32(std::ofstream& f, uint32_t v) {
  unsigned char b[4] = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                        static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  f.write(reinterpret_cast<const char*>(b), 4);
}

inline void write_idx_pair(const std::string& dir, const std::string& prefix, int n, uint64_t seed) {
  Rng rng(seed);
  std::ofstream img(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary);
  std::ofstream lab(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary);
  write_be32(img, 0x803);
  write_be32(img, static_cast<uint32_t>(n));
  write_be32(img, 8);
  write_be32(img, 8);
  write_be32(lab, 0x801);
  write_be32(lab, static_cast<uint32_t>(n));
  for (int i = 0; i < n; ++i) {
    const int k = static_cast<int>(rng.below(4));
    std::vector<unsigned char> px(64);
    for (auto& p : px) p = static_cast<unsigned char>(rng.below(60));
    const int r0 = (k / 2) * 4 + 1, c0 = (k % 2) * 4 + 1;
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) px[static_cast<size_t>((r0 + r) * 8 + c0 + c)] = static_cast<unsigned char>(200 + rng.below(56));
    img.write(reinterpret_cast<const char*>(px.data()), 64);
    const unsigned char l = static_cast<unsigned char>(k);
    lab.write(reinterpret_cast<const char*>(&l), 1);
  }
}

// A fresh directory with train (n_train) and t10k (n_test) files.
inline std::string make_synthetic_idx(const std::string& name, int n_train = 256, int n_test = 64) {
  std::string dir = (std::filesystem::temp_directory_path() / ("kiln-test-" + name + "-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write_idx_pair(dir, "train", n_train, 1);
  write_idx_pair(dir, "t10k", n_test, 2);
  return dir;
}

}  // namespace kiln::testing
