#include "report/base64.h"

#include <cstdint>

namespace kiln::report {

// Every 3 bytes (24 bits) become 4 characters of 6 bits each; a last group of 1 or 2 bytes is
// zero-padded to 24 bits and the characters that carry only padding are written as '='.
std::string base64_encode(std::string_view bytes) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += abc[v >> 18 & 63];
    out += abc[v >> 12 & 63];
    out += abc[v >> 6 & 63];
    out += abc[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += abc[v >> 18 & 63];
    out += abc[v >> 12 & 63];
    out += rest == 2 ? abc[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace kiln::report
