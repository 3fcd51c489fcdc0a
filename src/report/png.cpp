#include "report/png.h"

#include <zlib.h>

#include <cstdlib>

namespace kiln::report {

namespace {

void put_be32(std::string& out, uint32_t v) {
  out += static_cast<char>(v >> 24);
  out += static_cast<char>(v >> 16);
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v);
}

void put_chunk(std::string& out, const char type[4], const std::string& data) {
  KILN_CHECK(data.size() < (1ull << 31), "PNG chunk too large");
  put_be32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.append(type, 4);
  out += data;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + start), static_cast<uInt>(out.size() - start));
  put_be32(out, static_cast<uint32_t>(crc));
}

// Paeth predictor (PNG spec 9.4): whichever of left a, up b, upper-left c is closest to a + b - c.
int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// Each scanline is prefixed by a filter type; the filter turns bytes into differences from a
// prediction (left, up, average, Paeth), which deflate compresses much better on smooth images.
// Per row we keep the filter whose output has the smallest sum of |signed bytes|, the
// heuristic the PNG spec recommends.
std::string filtered_scanlines(const Image& im) {
  const size_t stride = static_cast<size_t>(im.width) * 3, bpp = 3;
  std::string out;
  out.reserve((stride + 1) * static_cast<size_t>(im.height));
  std::string row(stride, '\0'), best;
  const std::vector<uint8_t> zero(stride, 0);
  for (int64_t y = 0; y < im.height; ++y) {
    const uint8_t* cur = &im.rgb[static_cast<size_t>(y) * stride];
    const uint8_t* up = y > 0 ? cur - stride : zero.data();
    long best_cost = -1;
    int best_type = 0;
    for (int type = 0; type < 5; ++type) {
      long cost = 0;
      for (size_t i = 0; i < stride; ++i) {
        const int a = i >= bpp ? cur[i - bpp] : 0, b = up[i], c = i >= bpp ? up[i - bpp] : 0;
        int pred = 0;
        switch (type) {
          case 1: pred = a; break;
          case 2: pred = b; break;
          case 3: pred = (a + b) / 2; break;
          case 4: pred = paeth(a, b, c); break;
          default: break;
        }
        const auto v = static_cast<uint8_t>(cur[i] - pred);
        row[i] = static_cast<char>(v);
        cost += v < 128 ? v : 256 - v;
      }
      if (best_cost < 0 || cost < best_cost) best_cost = cost, best_type = type, best = row;
    }
    out += static_cast<char>(best_type);
    out += best;
  }
  return out;
}

}  // namespace

std::string encode_png(const Image& image) {
  KILN_CHECK(image.width > 0 && image.height > 0, "PNG of an empty image");
  KILN_CHECK(image.rgb.size() == static_cast<size_t>(image.width * image.height * 3), "image buffer size");
  std::string out("\x89PNG\r\n\x1a\n", 8);

  std::string ihdr;
  put_be32(ihdr, static_cast<uint32_t>(image.width));
  put_be32(ihdr, static_cast<uint32_t>(image.height));
  ihdr += '\x08';  // bit depth
  ihdr += '\x02';  // colour type: RGB
  ihdr += '\x00';  // compression: deflate
  ihdr += '\x00';  // filter method: adaptive
  ihdr += '\x00';  // no interlace
  put_chunk(out, "IHDR", ihdr);

  const std::string raw = filtered_scanlines(image);
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string z(size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(z.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
                           static_cast<uLong>(raw.size()), 6);
  KILN_CHECK(rc == Z_OK, "zlib compress2 failed: " << rc);
  z.resize(size);
  put_chunk(out, "IDAT", z);
  put_chunk(out, "IEND", "");
  return out;
}

}  // namespace kiln::report
