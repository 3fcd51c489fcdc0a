#include "report/image.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kiln::report {

Rgb rgb_hex(uint32_t hex) {
  return {static_cast<uint8_t>(hex >> 16), static_cast<uint8_t>(hex >> 8), static_cast<uint8_t>(hex)};
}

std::string css_colour(Rgb c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.r, c.g, c.b);
  return buf;
}

Rgb mix(Rgb a, Rgb b, double t) {
  t = std::clamp(t, 0.0, 1.0);
  auto m = [t](uint8_t u, uint8_t v) { return static_cast<uint8_t>(std::lround(u + (v - u) * t)); };
  return {m(a.r, b.r), m(a.g, b.g), m(a.b, b.b)};
}

Image::Image(int64_t w, int64_t h, Rgb fill) : width(w), height(h) {
  KILN_CHECK(w >= 0 && h >= 0 && w <= (1 << 15) && h <= (1 << 15), "image size " << w << "x" << h);
  rgb.resize(static_cast<size_t>(w * h * 3));
  for (size_t i = 0; i < rgb.size(); i += 3) rgb[i] = fill.r, rgb[i + 1] = fill.g, rgb[i + 2] = fill.b;
}

Image resize_nearest(const Image& src, int64_t w, int64_t h) {
  Image out(w, h);
  if (src.empty()) return out;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) out.set(x, y, src.at(x * src.width / w, y * src.height / h));
  return out;
}

}  // namespace kiln::report
