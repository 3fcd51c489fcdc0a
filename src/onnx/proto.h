#pragma once
// The protobuf wire format, enough to write ONNX files without libprotobuf: varints,
// length-delimited fields (strings, bytes, nested messages) and fixed 32-bit floats.
// Messages are built inside out: a nested message is a Proto whose bytes become a field.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace kiln::onnx {

class Proto {
 public:
  // Wire types: 0 varint, 2 length-delimited, 5 fixed 32-bit.
  Proto& varint(int field, uint64_t v) {
    key(field, 0);
    put_varint(v);
    return *this;
  }
  Proto& bytes(int field, const std::string& b) {
    key(field, 2);
    put_varint(b.size());
    buf_ += b;
    return *this;
  }
  Proto& message(int field, const Proto& m) { return bytes(field, m.buf_); }
  Proto& f32(int field, float v) {
    key(field, 5);
    char b[4];
    std::memcpy(b, &v, 4);  // little-endian on every machine kiln runs on
    buf_.append(b, 4);
    return *this;
  }
  // A packed repeated int64 (ONNX's ints, dims).
  Proto& packed(int field, const std::vector<int64_t>& vs) {
    Proto p;
    for (int64_t v : vs) p.put_varint(static_cast<uint64_t>(v));
    return bytes(field, p.buf_);
  }
  const std::string& str() const { return buf_; }

 private:
  void key(int field, int wire) { put_varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire)); }
  void put_varint(uint64_t v) {
    while (v >= 0x80) buf_.push_back(static_cast<char>((v & 0x7f) | 0x80)), v >>= 7;
    buf_.push_back(static_cast<char>(v));
  }
  std::string buf_;
};

}  // namespace kiln::onnx
