#include "data/image_decode.h"

#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "tensor/check.h"
#include "tensor/files.h"

namespace kiln {

namespace {

bool is_png(const uint8_t* d, size_t n) { return n >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0; }
bool is_jpeg(const uint8_t* d, size_t n) { return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF; }

// Larger images are refused before their pixels are allocated (a corrupt header can claim
// anything): 2^28 values, as for one tensor.
constexpr int64_t kMaxValues = int64_t{1} << 28;

DecodedImage decode_png(const uint8_t* data, size_t size, int64_t channels, const std::string& name) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, data, size))
    throw Error(name + ": not a readable PNG (libpng: " + img.message + ")");
  const bool colour = (img.format & PNG_FORMAT_FLAG_COLOR) != 0;
  DecodedImage out;
  out.channels = channels != 0 ? channels : (colour ? 3 : 1);
  out.width = img.width;
  out.height = img.height;
  if (out.width * out.height * out.channels > kMaxValues) {
    png_image_free(&img);
    throw Error(name + ": a PNG of " + std::to_string(out.width) + "x" + std::to_string(out.height) +
                " pixels is larger than kiln takes (2^28 values)");
  }
  // Colour is read as RGB and made grey here, with libjpeg's weights on the stored (gamma
  // encoded) values, so that a PNG and a JPEG of one picture give one grey; libpng's own
  // conversion works in linear light and would differ.
  const bool read_rgb = colour || out.channels == 3;
  img.format = read_rgb ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  std::vector<uint8_t> px(static_cast<size_t>(out.width * out.height * (read_rgb ? 3 : 1)));
  // Transparent pixels are composed over black (the background argument null means that).
  if (!png_image_finish_read(&img, nullptr, px.data(), 0, nullptr)) {
    const std::string msg = img.message;
    png_image_free(&img);
    throw Error(name + ": corrupt PNG (libpng: " + msg + ")");
  }
  if (read_rgb && out.channels == 1) {
    out.pixels.resize(static_cast<size_t>(out.width * out.height));
    for (size_t i = 0; i < out.pixels.size(); ++i)
      out.pixels[i] = static_cast<uint8_t>((19595u * px[3 * i] + 38470u * px[3 * i + 1] + 7471u * px[3 * i + 2] + 32768u) >> 16);
  } else {
    out.pixels = std::move(px);
  }
  return out;
}

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void jpeg_quiet(j_common_ptr, int) {}  // warnings (a few extraneous bytes) are not errors

// Everything that needs destruction lives outside the function that calls setjmp, so that
// longjmp skips no destructor.
struct JpegJob {
  jpeg_decompress_struct cinfo;
  JpegError err;
  uint8_t* out = nullptr;  // points into a buffer the caller owns, sized once the header is read
};

// False on failure, with err.message saying why; a libjpeg error longjmps back here, into
// the one frame that holds nothing with a destructor.
bool run_jpeg(JpegJob& job, const uint8_t* data, size_t size, int64_t channels, DecodedImage& img) {
  job.cinfo.err = jpeg_std_error(&job.err.mgr);
  job.err.mgr.error_exit = jpeg_fail;
  job.err.mgr.emit_message = jpeg_quiet;
  if (setjmp(job.err.jump)) {
    jpeg_destroy_decompress(&job.cinfo);
    return false;
  }
  jpeg_create_decompress(&job.cinfo);
  jpeg_mem_src(&job.cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&job.cinfo, TRUE);
  const bool grey = job.cinfo.num_components == 1;
  const int64_t c = channels != 0 ? channels : (grey ? 1 : 3);
  job.cinfo.out_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&job.cinfo);
  img.width = job.cinfo.output_width;
  img.height = job.cinfo.output_height;
  img.channels = c;
  if (img.width * img.height * c > kMaxValues) {
    std::snprintf(job.err.message, sizeof job.err.message, "%lldx%lld pixels is larger than kiln takes (2^28 values)",
                  static_cast<long long>(img.width), static_cast<long long>(img.height));
    jpeg_destroy_decompress(&job.cinfo);
    return false;
  }
  img.pixels.resize(static_cast<size_t>(img.width * img.height * c));
  const size_t row = static_cast<size_t>(img.width * c);
  while (job.cinfo.output_scanline < job.cinfo.output_height) {
    JSAMPROW p = img.pixels.data() + job.cinfo.output_scanline * row;
    jpeg_read_scanlines(&job.cinfo, &p, 1);
  }
  jpeg_finish_decompress(&job.cinfo);
  jpeg_destroy_decompress(&job.cinfo);
  return true;
}

DecodedImage decode_jpeg(const uint8_t* data, size_t size, int64_t channels, const std::string& name) {
  JpegJob job;
  DecodedImage img;
  if (!run_jpeg(job, data, size, channels, img)) throw Error(name + ": corrupt JPEG (libjpeg: " + job.err.message + ")");
  return img;
}

}  // namespace

bool is_image_name(const std::string& path) {
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = path.substr(dot + 1);
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == "png" || ext == "jpg" || ext == "jpeg";
}

DecodedImage decode_image(const uint8_t* data, size_t size, int64_t channels, const std::string& name) {
  KILN_REQUIRE(channels == 0 || channels == 1 || channels == 3,
               name << ": images are decoded to 1 (grey) or 3 (RGB) channels, not " << channels);
  if (size == 0) throw Error(name + ": empty file (expected a PNG or JPEG image)");
  if (is_png(data, size)) return decode_png(data, size, channels, name);
  if (is_jpeg(data, size)) return decode_jpeg(data, size, channels, name);
  throw Error(name + ": not a PNG or JPEG image (its first bytes are neither signature)");
}

DecodedImage decode_image_file(const std::string& path, int64_t channels) {
  const std::string bytes = read_file(path, "image");
  return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), channels, path);
}

std::vector<uint8_t> fit_image(const DecodedImage& img, int64_t height, int64_t width, Fit fit) {
  const int64_t C = img.channels, H = img.height, W = img.width;
  KILN_CHECK(H > 0 && W > 0 && height > 0 && width > 0, "fit_image of " << W << "x" << H << " to " << width << "x" << height);
  std::vector<uint8_t> out(static_cast<size_t>(C * height * width));
  if (H == height && W == width) {
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)
        for (int64_t c = 0; c < C; ++c) out[static_cast<size_t>((c * H + y) * W + x)] = img.pixels[static_cast<size_t>((y * W + x) * C + c)];
    return out;
  }
  // The source window the target covers: all of it (resize), or the centred part of the
  // target's aspect (crop).
  double x0 = 0, y0 = 0, sw = static_cast<double>(W), sh = static_cast<double>(H);
  if (fit == Fit::crop) {
    const double scale = std::max(static_cast<double>(width) / W, static_cast<double>(height) / H);
    sw = width / scale, sh = height / scale;
    x0 = (W - sw) / 2, y0 = (H - sh) / 2;
  }
  const double fx = sw / static_cast<double>(width), fy = sh / static_cast<double>(height);
  // Each target pixel averages a grid of bilinear samples spread over its footprint
  // (one sample when enlarging).
  const int64_t kx = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(fx))), ky = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(fy)));
  auto at = [&](int64_t y, int64_t x, int64_t c) {
    return static_cast<double>(img.pixels[static_cast<size_t>((y * W + x) * C + c)]);
  };
  std::vector<double> acc(static_cast<size_t>(C));
  for (int64_t ty = 0; ty < height; ++ty)
    for (int64_t tx = 0; tx < width; ++tx) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t sy = 0; sy < ky; ++sy)
        for (int64_t sx = 0; sx < kx; ++sx) {
          // Pixel centres: source coordinate of the sample, clamped to the image.
          const double u = std::clamp(x0 + (tx + (sx + 0.5) / kx) * fx - 0.5, 0.0, static_cast<double>(W - 1));
          const double v = std::clamp(y0 + (ty + (sy + 0.5) / ky) * fy - 0.5, 0.0, static_cast<double>(H - 1));
          const auto xa = static_cast<int64_t>(u), ya = static_cast<int64_t>(v);
          const int64_t xb = std::min(xa + 1, W - 1), yb = std::min(ya + 1, H - 1);
          const double ax = u - static_cast<double>(xa), ay = v - static_cast<double>(ya);
          for (int64_t c = 0; c < C; ++c)
            acc[static_cast<size_t>(c)] += (1 - ay) * ((1 - ax) * at(ya, xa, c) + ax * at(ya, xb, c)) +
                                           ay * ((1 - ax) * at(yb, xa, c) + ax * at(yb, xb, c));
        }
      for (int64_t c = 0; c < C; ++c)
        out[static_cast<size_t>((c * height + ty) * width + tx)] =
            static_cast<uint8_t>(std::lround(std::clamp(acc[static_cast<size_t>(c)] / static_cast<double>(kx * ky), 0.0, 255.0)));
    }
  return out;
}

}  // namespace kiln
