#pragma once
// Little binary files with a checksum: built in memory, written atomically (temporary file,
// fsync, rename: a kill at any moment leaves the old file or the new one, never half of one),
// read back with every length checked against what is left, so a corrupt file is an error
// naming the file, never a crash or a huge allocation.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tensor/files.h"
#include "tensor/tensor.h"

namespace kiln {

class BinWriter {
 public:
  template <class T> void pod(const T& v) { bytes(&v, sizeof(T)); }
  void bytes(const void* p, size_t n) { buf_.append(static_cast<const char*>(p), n); }
  void str(const std::string& s);
  void tensor(const Tensor& t);  // rank, dims, float32 data
  // Appends the CRC-32 of the contents and writes the file atomically.
  void commit(const std::string& path) const;

 private:
  std::string buf_;
};

class BinReader {
 public:
  // Reads the whole file and verifies its trailing CRC-32; `what` names it in errors.
  BinReader(const std::string& path, const std::string& what);
  template <class T> T pod() {
    T v;
    take(&v, sizeof(T));
    return v;
  }
  std::string str(size_t max_len = 1 << 20);
  // n raw bytes into p (bulk data: pixels), or fail() when fewer are left.
  void raw(void* p, size_t n) { take(p, n); }
  void expect_magic(const char* magic8);
  // Reads a tensor and checks its shape against `into`, then copies into it.
  void tensor_into(Tensor& into, const std::string& name);
  bool at_end() const { return pos_ == end_; }
  // Where the next read starts, and going back there (to read a part again).
  size_t position() const { return pos_; }
  void seek(size_t pos) { pos_ = pos < end_ ? pos : end_; }
  [[noreturn]] void fail(const std::string& msg) const;
  const std::string& path() const { return path_; }

 private:
  void take(void* p, size_t n);
  std::string path_, what_, buf_;
  size_t pos_ = 0, end_ = 0;
};

// Writes `data` to `path` atomically (see above).

uint32_t crc32_of(const void* data, size_t n);

}  // namespace kiln
