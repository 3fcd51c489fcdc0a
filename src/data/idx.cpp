#include "data/idx.h"

#include <cstdio>
#include <filesystem>

#include "data/byte_reader.h"
#include "data/read_body.h"

namespace kiln {

namespace {

constexpr uint32_t kImageMagic = 0x00000803, kLabelMagic = 0x00000801;
// Far beyond any image dataset stored as idx, yet small enough that rows·cols·count cannot
// overflow int64 (2^32 · 2^14 · 2^14 = 2^60).
constexpr uint32_t kMaxSide = 1u << 14;

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// "wrong magic 0x00000804 (expected 0x00000803, an idx3 image file): ..." with what the magic
// does say: idx magic is two zero bytes, an element type (0x08: unsigned bytes) and the
// number of dimensions.
[[noreturn]] void fail_magic(const ByteReader& r, uint32_t magic, uint32_t expected, const char* kind) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "wrong magic 0x%08x (expected 0x%08x, %s)", magic, expected, kind);
  std::string msg = buf;
  const uint32_t type = (magic >> 8) & 0xff, dims = magic & 0xff;
  if ((magic >> 16) != 0) {
    msg += ": not an idx file";
  } else if (type != 0x08) {
    std::snprintf(buf, sizeof buf, ": element type 0x%02x is not unsigned bytes (0x08)", type);
    msg += buf;
  } else {
    msg += ": the header says " + std::to_string(dims) + (dims == 1 ? " dimension" : " dimensions");
    if (dims == 1) msg += " (an idx1 label file?)";
    if (dims == 3) msg += " (an idx3 image file?)";
  }
  r.fail(msg);
}

// Reads a header of `size` bytes and checks its magic; the magic is checked as soon as four
// bytes are there, so a label file given as images says so rather than "truncated".
void read_header(ByteReader& r, uint8_t* h, int64_t size, uint32_t magic, const char* kind) {
  const int64_t got = r.read(h, size);
  if (got == 0) r.fail(std::string("empty file (expected ") + kind + ")");
  if (got >= 4 && be32(h) != magic) fail_magic(r, be32(h), magic, kind);
  if (got < size)
    r.fail("truncated header: expected " + std::to_string(size) + " bytes, found " + std::to_string(got));
}

// The path of `name` or `name`.gz in dir; the error lists both.
std::string find_file(const std::string& dir, const std::string& name, const char* what) {
  for (const std::string& candidate : {name, name + ".gz"}) {
    const std::string p = (std::filesystem::path(dir) / candidate).string();
    if (std::filesystem::exists(p)) return p;
  }
  throw Error(dir + ": no " + what + ": looked for " + name + " and " + name + ".gz");
}

}  // namespace

Dataset load_idx_files(const std::string& images_path, const std::string& labels_path, int64_t classes) {
  if (classes < 1 || classes > 256)
    throw Error(images_path + ": " + std::to_string(classes) + " classes asked for (idx labels are bytes: 1 to 256)");
  ByteReader images(images_path), labels(labels_path);

  // Both headers, every field checked, before any allocation.
  uint8_t h[16];
  read_header(images, h, 16, kImageMagic, "an idx3 image file");
  const uint32_t count = be32(h + 4), rows = be32(h + 8), cols = be32(h + 12);
  if (count == 0) images.fail("the header says 0 images");
  if (rows == 0) images.fail("the header says 0 rows");
  if (cols == 0) images.fail("the header says 0 columns");
  if (rows > kMaxSide || cols > kMaxSide)
    images.fail("implausible image size " + std::to_string(rows) + "x" + std::to_string(cols) + " (at most " +
                std::to_string(kMaxSide) + " pixels a side)");
  const int64_t pixel_bytes = int64_t{count} * rows * cols;
  check_known_length(images, pixel_bytes, "pixel data");

  uint8_t lh[8];
  read_header(labels, lh, 8, kLabelMagic, "an idx1 label file");
  const uint32_t label_count = be32(lh + 4);
  check_known_length(labels, label_count, "label data");
  if (label_count != count)
    throw Error(images_path + ": holds " + std::to_string(count) + " images but " + labels_path + " holds " +
                std::to_string(label_count) + " labels");

  Dataset d;
  d.source = images_path;
  d.sample = Shape{1, int64_t{rows}, int64_t{cols}};
  read_exact_body(images, pixel_bytes, "pixel data", d.pixels);
  std::vector<uint8_t> raw;
  read_exact_body(labels, count, "label data", raw);
  d.labels.resize(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] >= classes)
      labels.fail("label " + std::to_string(raw[i]) + " of sample " + std::to_string(i) + " is out of range (expected 0.." +
                  std::to_string(classes - 1) + ")");
    d.labels[i] = raw[i];
  }
  for (int64_t k = 0; k < classes; ++k) d.class_names.push_back(std::to_string(k));
  return d;
}

Dataset load_idx_dir(const std::string& dir, bool train, int64_t classes) {
  std::error_code ec;  // (a symlink loop, say, is no directory either)
  if (!std::filesystem::is_directory(dir, ec)) throw Error(dir + ": no such directory (expected idx files)");
  const std::string prefix = train ? "train" : "t10k";
  const char* split = train ? "training" : "test";
  const std::string images = find_file(dir, prefix + "-images-idx3-ubyte", (std::string(split) + " images").c_str());
  const std::string labels = find_file(dir, prefix + "-labels-idx1-ubyte", (std::string(split) + " labels").c_str());
  return load_idx_files(images, labels, classes);
}

}  // namespace kiln
