#pragma once
// Small data files for the data-module tests, built in memory (so that tests can cut, pad and
// corrupt them) and written plain or gzip'd into a per-test temporary folder.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/formats.h"
#include "tensor/check.h"

namespace kiln::testing {

using Bytes = std::string;

inline void put_be32(Bytes& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Pixel k of image i: a pattern that differs between images and positions.
inline uint8_t pattern_pixel(int64_t i, int64_t k) { return static_cast<uint8_t>((i * 37 + k * 11 + (k * k) % 7) & 0xff); }

inline Bytes idx_images(uint32_t count, uint32_t rows, uint32_t cols, uint32_t magic = 0x803) {
  Bytes s;
  put_be32(s, magic);
  put_be32(s, count);
  put_be32(s, rows);
  put_be32(s, cols);
  for (int64_t i = 0; i < count; ++i)
    for (int64_t k = 0; k < int64_t{rows} * cols; ++k) s.push_back(static_cast<char>(pattern_pixel(i, k)));
  return s;
}

inline uint8_t pattern_label(int64_t i, int classes = 10) { return static_cast<uint8_t>((i * 7 + 3) % classes); }

inline Bytes idx_labels(uint32_t count, uint32_t magic = 0x801) {
  Bytes s;
  put_be32(s, magic);
  put_be32(s, count);
  for (int64_t i = 0; i < count; ++i) s.push_back(static_cast<char>(pattern_label(i)));
  return s;
}

// n CIFAR-10 records: label, then 3072 pixels; record r of a file starting at sample `first`.
inline Bytes cifar_records(int64_t n, int64_t first = 0) {
  Bytes s;
  for (int64_t r = 0; r < n; ++r) {
    s.push_back(static_cast<char>(pattern_label(first + r)));
    for (int64_t k = 0; k < 3072; ++k) s.push_back(static_cast<char>(pattern_pixel(first + r, k)));
  }
  return s;
}

// gzip format (deflate with the gzip wrapper), as `gzip` writes it.
inline Bytes gzip(const Bytes& raw) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&z, static_cast<uLong>(raw.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// The whole file as written.
inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The message of what `f` throws ("" when it throws nothing).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("kiln-data-") + info->test_suite_name() + "-" + info->name() + "-" + std::to_string(::getpid());
    for (char& c : name)
      if (c == '/') c = '_';
    path_ = (std::filesystem::temp_directory_path() / name).string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An in-memory dataset of n samples (C, H, W) with pattern pixels and labels.
inline Dataset pattern_dataset(int64_t n, int64_t C, int64_t H, int64_t W, int classes = 10) {
  Dataset d;
  d.source = "pattern";
  d.sample = Shape{C, H, W};
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < C * H * W; ++k) d.pixels.push_back(pattern_pixel(i, k));
    d.labels.push_back(pattern_label(i, classes));
  }
  d.class_names = default_class_names("idx", classes);
  return d;
}

// An in-memory regression table of n rows: float features x(i, k), k < features, and the
// numeric target column "t" = t(i).
template <class X, class T>
Dataset regression_dataset(int n, int features, X x, T t) {
  Dataset d;
  d.source = "generated";
  d.sample = Shape{features};
  d.floats = true;
  d.target = "t";
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < features; ++k) d.values.push_back(static_cast<float>(x(i, k)));
    d.targets.push_back(static_cast<float>(t(i)));
  }
  return d;
}

}  // namespace kiln::testing
