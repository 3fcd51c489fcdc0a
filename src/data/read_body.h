#pragma once
// The length checks shared by the readers: a file's body is compared with the length its
// header implies before anything is allocated for it (plain files), or read in bounded steps
// that grow with the data really present (gzip, whose length is only known by decompressing).
#include <cstdint>
#include <vector>

#include "data/byte_reader.h"

namespace kiln {

// For a plain file, fails unless exactly `expected` bytes follow ("truncated: expected N bytes
// of <what>, found M" / "trailing bytes: ..."). For gzip it can say nothing yet and returns.
void check_known_length(const ByteReader& r, int64_t expected, const char* what);

// Reads exactly `expected` bytes (the rest of the file) into `out`, failing like
// check_known_length when there are fewer or more. For gzip, memory follows the decompressed
// data actually present, so a header claiming terabytes fails once the stream runs out.
void read_exact_body(ByteReader& r, int64_t expected, const char* what, std::vector<uint8_t>& out);

}  // namespace kiln
