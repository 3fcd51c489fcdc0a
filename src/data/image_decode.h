#pragma once
// Decoding image files (PNG through libpng, JPEG through libjpeg-turbo, both from Debian) and
// fitting them to a model's input: the pixels a dataset or `kiln predict` hands the loader.
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

// Decoded pixels, interleaved (HWC), 8 bits per value; `channels` 1 (grey) or 3 (RGB).
struct DecodedImage {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // height × width × channels
};

// True for the file names decode_image_file takes (.png, .jpg, .jpeg, any case).
bool is_image_name(const std::string& path);

// Decodes a PNG or JPEG (told apart by their first bytes, not the name) into `channels`
// channels (1: converted to grey, 3: to RGB; 0: as stored, grey stays 1 and colour becomes
// 3; alpha is dropped). Throws kiln::Error naming `name` and what is wrong for a file that is
// not one of them, truncated or corrupt.
DecodedImage decode_image(const uint8_t* data, size_t size, int64_t channels, const std::string& name);
DecodedImage decode_image_file(const std::string& path, int64_t channels = 0);

// How an image meets a size of another aspect: "resize" stretches it, "crop" scales its shorter
// side to the target and cuts the centre out of the longer one.
enum class Fit { resize, crop };

// The image as one sample of (img.channels, height, width), CHW: copied as is when it already
// has that size, else resampled (bilinear, with the source averaged over each target pixel's
// footprint when shrinking, so that small targets do not alias).
std::vector<uint8_t> fit_image(const DecodedImage& img, int64_t height, int64_t width, Fit fit);

}  // namespace kiln
