#include "data/read_body.h"

#include <algorithm>
#include <string>

namespace kiln {

namespace {

constexpr int64_t kGrowChunk = int64_t{1} << 20;  // gzip: decompressed bytes asked for per step

[[noreturn]] void fail_short(const ByteReader& r, int64_t expected, int64_t found, const char* what) {
  r.fail("truncated: expected " + std::to_string(expected) + " bytes of " + what + ", found " + std::to_string(found));
}

[[noreturn]] void fail_long(const ByteReader& r, int64_t expected, int64_t found, const char* what) {
  r.fail("trailing bytes: expected " + std::to_string(expected) + " bytes of " + what + ", found " +
         std::to_string(found) + " (" + std::to_string(found - expected) + " more than the header says)");
}

}  // namespace

void check_known_length(const ByteReader& r, int64_t expected, const char* what) {
  const int64_t rem = r.known_remaining();
  if (rem < 0) return;
  if (rem < expected) fail_short(r, expected, rem, what);
  if (rem > expected) fail_long(r, expected, rem, what);
}

void read_exact_body(ByteReader& r, int64_t expected, const char* what, std::vector<uint8_t>& out) {
  check_known_length(r, expected, what);
  out.clear();
  int64_t have = 0;
  if (r.known_remaining() >= 0) {
    // Plain: the length was just checked against the file size, so this allocation is real data.
    out.resize(static_cast<size_t>(expected));
    have = r.read(out.data(), expected);
  } else {
    // Gzip: grow as data arrives, by at least a chunk and by half of what is there (so the
    // copies stay linear overall), never past what the header claims. The capacity is set with
    // reserve, which allocates exactly, so a good file ends with exactly `expected` bytes and
    // a lying header costs memory in proportion to the data really present, not to the claim.
    for (;;) {
      if (have == static_cast<int64_t>(out.size())) {
        if (have == expected) break;
        const int64_t size = std::min(expected, have + std::max(kGrowChunk, have / 2));
        out.reserve(static_cast<size_t>(size));
        out.resize(static_cast<size_t>(size));
      }
      const int64_t got = r.read(out.data() + have, static_cast<int64_t>(out.size()) - have);
      if (got == 0) break;
      have += got;
    }
  }
  if (have < expected) fail_short(r, expected, have, what);
  // Reading on to the end also makes zlib verify the gzip trailer (CRC and length).
  const int64_t extra = r.skip_rest();
  if (extra > 0) fail_long(r, expected, expected + extra, what);
}

}  // namespace kiln
