#pragma once
// A PNG encoder on zlib alone (no libpng): 8-bit RGB, not interlaced.
//
// File = 8-byte signature, then chunks, each: u32 length (big-endian), 4-byte type, data,
// u32 CRC-32 of type + data. We write IHDR (size, bit depth 8, colour type 2 = RGB),
// one IDAT (the zlib stream of the filtered scanlines) and IEND.
#include <string>

#include "report/image.h"

namespace kiln::report {

// The PNG file's bytes.
std::string encode_png(const Image& image);

}  // namespace kiln::report
