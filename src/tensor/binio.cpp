#include "tensor/binio.h"
#include "tensor/files.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace kiln {

uint32_t crc32_of(const void* data, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {  // zlib takes uInt lengths
    uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    c = crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(c);
}

void BinWriter::str(const std::string& s) {
  pod(static_cast<uint32_t>(s.size()));
  bytes(s.data(), s.size());
}

void BinWriter::tensor(const Tensor& t) {
  pod(static_cast<uint32_t>(t.rank()));
  for (int64_t d : t.shape().dims()) pod(d);
  // On disk always float32, whatever Real is compiled as, and from whatever device.
  const Tensor host = t.to(Device::cpu);
  std::vector<float> f(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) f[static_cast<size_t>(i)] = static_cast<float>(host[i]);
  bytes(f.data(), f.size() * sizeof(float));
}

void BinWriter::commit(const std::string& path) const {
  std::string out = buf_;
  uint32_t crc = crc32_of(out.data(), out.size());
  out.append(reinterpret_cast<const char*>(&crc), sizeof crc);
  write_file_atomic(path, out);
}

BinReader::BinReader(const std::string& path, const std::string& what) : path_(path), what_(what) {
  buf_ = read_file(path, what);
  if (buf_.size() < 4) fail("file is too short (" + std::to_string(buf_.size()) + " bytes)");
  end_ = buf_.size() - 4;
  uint32_t stored;
  std::memcpy(&stored, buf_.data() + end_, 4);
  if (crc32_of(buf_.data(), end_) != stored) fail("checksum mismatch: the file is corrupt or truncated");
}

void BinReader::fail(const std::string& msg) const { throw Error(path_ + ": bad " + what_ + ": " + msg); }

void BinReader::take(void* p, size_t n) {
  if (n > end_ - pos_) fail("unexpected end of data at byte " + std::to_string(pos_));
  if (n) std::memcpy(p, buf_.data() + pos_, n);
  pos_ += n;
}

std::string BinReader::str(size_t max_len) {
  auto n = pod<uint32_t>();
  if (n > max_len || n > end_ - pos_) fail("string length " + std::to_string(n) + " out of range");
  std::string s(buf_.data() + pos_, n);
  pos_ += n;
  return s;
}

void BinReader::expect_magic(const char* magic8) {
  char m[8];
  take(m, 8);
  if (std::memcmp(m, magic8, 8) != 0) fail(std::string("wrong magic (expected ") + magic8 + ")");
}

void BinReader::tensor_into(Tensor& into, const std::string& name) {
  auto rank = pod<uint32_t>();
  if (rank > 8) fail(name + ": rank " + std::to_string(rank) + " out of range");
  std::vector<int64_t> dims(rank);
  for (auto& d : dims) d = pod<int64_t>();
  Shape s(dims);
  if (s != into.shape()) fail(name + ": shape " + s.str() + " does not match the model's " + into.shape().str());
  std::vector<float> f(static_cast<size_t>(into.numel()));
  take(f.data(), f.size() * sizeof(float));
  std::vector<Real> values(f.begin(), f.end());
  into.copy_from_host(values.data());
}

}  // namespace kiln
