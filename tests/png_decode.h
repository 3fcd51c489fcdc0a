#pragma once
// A minimal PNG decoder for tests: checks the signature and every chunk's CRC, inflates the
// IDAT stream with zlib and reverses the five scanline filters. 8-bit grey, grey+alpha, RGB
// and RGBA, not interlaced: what kiln writes and what Chromium's screenshots are.
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::testing {

struct DecodedPng {
  int64_t width = 0, height = 0;
  int channels = 0;              // 1, 2, 3 or 4
  std::vector<uint8_t> pixels;   // height × width × channels
  // RGB of pixel (x, y), alpha ignored.
  uint32_t rgb(int64_t x, int64_t y) const {
    const uint8_t* p = &pixels[static_cast<size_t>((y * width + x) * channels)];
    return channels >= 3 ? (uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2]) : (uint32_t{p[0]} * 0x010101u);
  }
};

inline uint32_t png_be32(const std::string& s, size_t at) {
  return uint32_t{static_cast<unsigned char>(s[at])} << 24 | uint32_t{static_cast<unsigned char>(s[at + 1])} << 16 |
         uint32_t{static_cast<unsigned char>(s[at + 2])} << 8 | static_cast<unsigned char>(s[at + 3]);
}

// Throws std::runtime_error saying what is wrong.
inline DecodedPng decode_png(const std::string& file) {
  if (file.size() < 8 || file.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) != 0) throw std::runtime_error("not a PNG signature");
  DecodedPng png;
  std::string idat;
  int depth = 0, colour = -1;
  bool ended = false;
  for (size_t pos = 8; pos < file.size();) {
    if (pos + 12 > file.size()) throw std::runtime_error("truncated chunk header");
    const uint32_t len = png_be32(file, pos);
    if (pos + 12 + len > file.size()) throw std::runtime_error("truncated chunk");
    const std::string type = file.substr(pos + 4, 4);
    const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(file.data() + pos + 4), len + 4));
    if (crc != png_be32(file, pos + 8 + len)) throw std::runtime_error("bad CRC in chunk " + type);
    const std::string data = file.substr(pos + 8, len);
    if (type == "IHDR") {
      if (len != 13) throw std::runtime_error("IHDR length");
      png.width = png_be32(data, 0), png.height = png_be32(data, 4);
      depth = static_cast<unsigned char>(data[8]), colour = static_cast<unsigned char>(data[9]);
      if (data[12] != 0) throw std::runtime_error("interlaced PNG not supported");
    } else if (type == "IDAT") {
      idat += data;
    } else if (type == "IEND") {
      ended = true;
      break;
    }
    pos += 12 + len;
  }
  if (!ended) throw std::runtime_error("no IEND");
  if (depth != 8) throw std::runtime_error("bit depth " + std::to_string(depth) + " not supported");
  png.channels = colour == 0 ? 1 : colour == 4 ? 2 : colour == 2 ? 3 : colour == 6 ? 4 : 0;
  if (png.channels == 0) throw std::runtime_error("colour type " + std::to_string(colour) + " not supported");
  if (png.width <= 0 || png.height <= 0) throw std::runtime_error("empty image");
  const size_t stride = static_cast<size_t>(png.width) * static_cast<size_t>(png.channels), bpp = static_cast<size_t>(png.channels);
  std::vector<uint8_t> raw((stride + 1) * static_cast<size_t>(png.height));
  uLongf raw_len = static_cast<uLongf>(raw.size());
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), static_cast<uLong>(idat.size())) != Z_OK ||
      raw_len != raw.size())
    throw std::runtime_error("IDAT does not inflate to the expected size");
  png.pixels.assign(stride * static_cast<size_t>(png.height), 0);
  for (int64_t y = 0; y < png.height; ++y) {
    const uint8_t type = raw[static_cast<size_t>(y) * (stride + 1)];
    const uint8_t* in = &raw[static_cast<size_t>(y) * (stride + 1) + 1];
    uint8_t* out = &png.pixels[static_cast<size_t>(y) * stride];
    const uint8_t* up = y > 0 ? out - stride : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? out[i - bpp] : 0, b = up ? up[i] : 0, c = up && i >= bpp ? up[i - bpp] : 0;
      int pred = 0;
      switch (type) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) / 2; break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw std::runtime_error("bad filter type " + std::to_string(type));
      }
      out[i] = static_cast<uint8_t>(in[i] + pred);
    }
  }
  return png;
}

// Pixels in the rectangle that differ from white, and the number of distinct colours there.
struct Ink {
  int64_t non_white = 0, pixels = 0;
  size_t colours = 0;
};
inline Ink ink(const DecodedPng& png, int64_t x0 = 0, int64_t y0 = 0, int64_t x1 = -1, int64_t y1 = -1) {
  if (x1 < 0 || x1 > png.width) x1 = png.width;
  if (y1 < 0 || y1 > png.height) y1 = png.height;
  Ink k;
  std::set<uint32_t> seen;
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) {
      const uint32_t c = png.rgb(x, y);
      ++k.pixels;
      k.non_white += c != 0xffffffu;
      if (seen.size() < 4096) seen.insert(c);
    }
  k.colours = seen.size();
  return k;
}

}  // namespace kiln::testing
