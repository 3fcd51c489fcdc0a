#pragma once
// An 8-bit RGB raster image and the colour type shared by the raster and SVG back ends.
// Pixel (x, y) covers the square [x, x+1) × [y, y+1); its centre is (x + 0.5, y + 0.5), as in SVG.
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/check.h"

namespace kiln::report {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

Rgb rgb_hex(uint32_t hex);           // 0xRRGGBB
std::string css_colour(Rgb c);       // "#rrggbb"
Rgb mix(Rgb a, Rgb b, double t);     // (1 - t)·a + t·b, t clamped to [0, 1]

struct Image {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // (height, width, 3), row-major

  Image() = default;
  Image(int64_t w, int64_t h, Rgb fill = {255, 255, 255});
  bool empty() const { return width == 0 || height == 0; }
  Rgb at(int64_t x, int64_t y) const {
    const uint8_t* p = &rgb[static_cast<size_t>((y * width + x) * 3)];
    return {p[0], p[1], p[2]};
  }
  void set(int64_t x, int64_t y, Rgb c) {
    uint8_t* p = &rgb[static_cast<size_t>((y * width + x) * 3)];
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }
};

// Nearest-neighbour resampling to (w, h): integer factors keep every source pixel a crisp block.
Image resize_nearest(const Image& src, int64_t w, int64_t h);

}  // namespace kiln::report
