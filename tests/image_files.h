#pragma once
// Tiny image files for the image-folder and predict tests: PNGs from kiln's own writer
// (report/png.h), JPEGs from libjpeg, written into class folders.
#include <jpeglib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "data_files.h"
#include "report/png.h"

namespace kiln::testing {

// Pixel (x, y, c) of image `seed`: a pattern that differs between images, places and channels.
inline uint8_t image_pixel(int64_t seed, int64_t x, int64_t y, int64_t c) {
  return static_cast<uint8_t>((seed * 53 + x * 17 + y * 29 + c * 71 + (x * y) % 5) & 0xff);
}

inline report::Image pattern_image(int64_t w, int64_t h, int64_t seed) {
  report::Image img(w, h);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t c = 0; c < 3; ++c) img.rgb[static_cast<size_t>((y * w + x) * 3 + c)] = image_pixel(seed, x, y, c);
  return img;
}

inline void write_png(const std::string& path, const report::Image& img) { write_bytes(path, report::encode_png(img)); }

// A baseline JPEG of `img` (RGB) at `quality`.
inline Bytes jpeg_bytes(const report::Image& img, int quality = 95) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(img.width);
  c.image_height = static_cast<JDIMENSION>(img.height);
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  std::vector<uint8_t> row(static_cast<size_t>(img.width * 3));
  while (c.next_scanline < c.image_height) {
    JSAMPROW p = const_cast<uint8_t*>(img.rgb.data()) + c.next_scanline * img.width * 3;
    jpeg_write_scanlines(&c, &p, 1);
  }
  jpeg_finish_compress(&c);
  Bytes out(reinterpret_cast<const char*>(buf), size);
  jpeg_destroy_compress(&c);
  free(buf);
  return out;
}

// DIR/SPLIT/CLASS/iK.png for `per_class` images of w × h per class, image seeds
// class·100 + k (so that tests can rebuild any pixel).
inline void write_png_folder(const std::string& dir, const std::string& split, const std::vector<std::string>& classes,
                             int per_class, int64_t w, int64_t h) {
  for (size_t c = 0; c < classes.size(); ++c) {
    const std::string folder = dir + "/" + split + "/" + classes[c];
    std::filesystem::create_directories(folder);
    for (int k = 0; k < per_class; ++k)
      write_png(folder + "/i" + std::to_string(k) + ".png", pattern_image(w, h, static_cast<int64_t>(c) * 100 + k));
  }
}

}  // namespace kiln::testing
