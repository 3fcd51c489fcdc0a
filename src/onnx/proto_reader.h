#pragma once
// Reading the protobuf wire format, for ONNX files: a message is walked field by field;
// every length is checked against what is left, so a corrupt file is an error, not a crash.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "tensor/check.h"

namespace kiln::onnx {

struct Field {
  int number = 0, wire = 0;
  uint64_t varint = 0;     // wire 0 (and the bits of wire 5 / 1)
  std::string_view bytes;  // wire 2
  float f32() const {
    float f;
    const auto u = static_cast<uint32_t>(varint);
    std::memcpy(&f, &u, 4);
    return f;
  }
};

class ProtoReader {
 public:
  ProtoReader(std::string_view data, std::string what) : p_(data), what_(std::move(what)) {}
  bool next(Field& f) {
    if (p_.empty()) return false;
    const uint64_t key = varint();
    f.number = static_cast<int>(key >> 3), f.wire = static_cast<int>(key & 7);
    f.bytes = {};
    switch (f.wire) {
      case 0: f.varint = varint(); break;
      case 1: f.varint = fixed(8); break;
      case 5: f.varint = fixed(4); break;
      case 2: {
        const uint64_t n = varint();
        if (n > p_.size()) fail("a field of " + std::to_string(n) + " bytes runs past the end");
        f.bytes = p_.substr(0, static_cast<size_t>(n));
        p_.remove_prefix(static_cast<size_t>(n));
        break;
      }
      default: fail("unknown wire type " + std::to_string(f.wire));
    }
    return true;
  }
  // The values of a packed repeated varint field (or one unpacked value).
  static std::vector<int64_t> ints(const Field& f, const std::string& what) {
    if (f.wire == 0) return {static_cast<int64_t>(f.varint)};
    ProtoReader r(f.bytes, what);
    std::vector<int64_t> out;
    while (!r.p_.empty()) out.push_back(static_cast<int64_t>(r.varint()));
    return out;
  }
  [[noreturn]] void fail(const std::string& msg) const { throw Error(what_ + ": not a valid ONNX file (" + msg + ")"); }

 private:
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_.empty()) fail("truncated varint");
      const auto b = static_cast<uint8_t>(p_[0]);
      p_.remove_prefix(1);
      v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
  }
  uint64_t fixed(size_t n) {
    if (p_.size() < n) fail("truncated fixed field");
    uint64_t v = 0;
    std::memcpy(&v, p_.data(), n);
    p_.remove_prefix(n);
    return v;
  }
  std::string_view p_;
  std::string what_;
};

}  // namespace kiln::onnx
