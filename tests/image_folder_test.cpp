// Image folders: decoding (PNG exact, JPEG within its loss), fitting to a size, the layout's
// rules and errors, the cache, and threads.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "data/image_decode.h"
#include "data/image_folder.h"
#include "image_files.h"

namespace fs = std::filesystem;
using namespace kiln;
using namespace kiln::testing;

namespace {

std::string error_of(const std::string& dir, bool train, const ReadOptions& o = {}) {
  try {
    load_image_folder(dir, train, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(ImageFolder, PngsAreReadExactlyInClassThenNameOrderWithClassesFromFolders) {
  TempDir dir;
  write_png_folder(dir.path(), "train", {"dog", "cat"}, 3, 6, 4);
  write_png_folder(dir.path(), "test", {"cat"}, 2, 6, 4);
  const Dataset d = load_image_folder(dir.path(), true, {});
  ASSERT_EQ(d.sample_shape(), (Shape{3, 4, 6}));
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(d.size(), 6);
  EXPECT_EQ(d.labels, (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));
  // Sample 4 is dog/i1.png, written with seed 0·100 + 1 ("dog" was class 0 when written).
  const uint8_t* s = d.sample_data(4);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 4; ++y)
      for (int64_t x = 0; x < 6; ++x) ASSERT_EQ(s[(c * 4 + y) * 6 + x], image_pixel(1, x, y, c)) << c << y << x;
  const Dataset t = load_image_folder(dir.path(), false, {});
  EXPECT_EQ(t.labels, (std::vector<int32_t>{0, 0}));  // "cat" keeps the training label
  EXPECT_EQ(t.class_names, d.class_names);
}

TEST(ImageFolder, JpegsDecodeWithinTheirLossAndGreyIsTheLuminance) {
  TempDir dir;
  fs::create_directories(dir / "train/a");
  report::Image flat(8, 8, {200, 100, 50});
  write_bytes(dir / "train/a/x.jpg", jpeg_bytes(flat, 95));
  const DecodedImage rgb = decode_image_file(dir / "train/a/x.jpg", 0);
  ASSERT_EQ(rgb.channels, 3);
  for (int64_t i = 0; i < 64; ++i) {
    EXPECT_NEAR(rgb.pixels[i * 3 + 0], 200, 3);
    EXPECT_NEAR(rgb.pixels[i * 3 + 1], 100, 3);
    EXPECT_NEAR(rgb.pixels[i * 3 + 2], 50, 3);
  }
  ReadOptions o;
  o.channels = 1;
  const Dataset d = load_image_folder(dir.path(), true, o);
  ASSERT_EQ(d.sample_shape(), (Shape{1, 8, 8}));
  EXPECT_NEAR(d.pixels[0], 0.299 * 200 + 0.587 * 100 + 0.114 * 50, 3);
  // PNG to grey as well.
  write_png(dir / "train/a/y.png", flat);
  EXPECT_NEAR(decode_image_file(dir / "train/a/y.png", 1).pixels[0], 0.299 * 200 + 0.587 * 100 + 0.114 * 50, 2);
}

TEST(ImageFit, ShrinkingAveragesFootprintsAndCropTakesTheCentre) {
  DecodedImage img;
  img.width = 8, img.height = 4, img.channels = 1;
  for (int64_t i = 0; i < 32; ++i) img.pixels.push_back(static_cast<uint8_t>(i * 7));
  // Resize 8x4 to 4x2: each target pixel is the mean of a 2x2 block.
  const auto r = fit_image(img, 2, 4, Fit::resize);
  for (int64_t y = 0; y < 2; ++y)
    for (int64_t x = 0; x < 4; ++x) {
      const auto p = [&](int64_t yy, int64_t xx) { return static_cast<double>(img.pixels[yy * 8 + xx]); };
      const double mean = (p(2 * y, 2 * x) + p(2 * y, 2 * x + 1) + p(2 * y + 1, 2 * x) + p(2 * y + 1, 2 * x + 1)) / 4;
      EXPECT_NEAR(r[y * 4 + x], mean, 0.5 + 1e-9);
    }
  // Crop to 4x4: the shorter side fits, columns 2..5 are kept exactly.
  const auto c = fit_image(img, 4, 4, Fit::crop);
  for (int64_t y = 0; y < 4; ++y)
    for (int64_t x = 0; x < 4; ++x) EXPECT_EQ(c[y * 4 + x], img.pixels[y * 8 + x + 2]);
}

TEST(ImageFolder, BadFilesAndFoldersAreErrorsNamingThem) {
  TempDir dir;
  write_png_folder(dir.path(), "train", {"a", "b"}, 2, 4, 4);
  EXPECT_NE(error_of(dir.path(), false).find("no test/ (or val/) folder"), std::string::npos);
  fs::create_directories(dir / "train/empty");
  EXPECT_NE(error_of(dir.path(), true).find("train/empty: empty class folder"), std::string::npos);
  fs::remove(dir / "train/empty");
  write_bytes(dir / "train/a/notes.txt", "hello");
  EXPECT_NE(error_of(dir.path(), true).find("notes.txt: not an image file"), std::string::npos);
  fs::remove(dir / "train/a/notes.txt");
  write_bytes(dir / "train/a/bad.png", std::string("\x89PNG\r\n\x1a\n", 8) + "garbage");
  EXPECT_NE(error_of(dir.path(), true).find("bad.png: "), std::string::npos);
  fs::remove(dir / "train/a/bad.png");
  const Bytes jpg = jpeg_bytes(pattern_image(16, 16, 3));
  write_bytes(dir / "train/b/cut.jpg", jpg.substr(0, jpg.size() / 3));
  EXPECT_NE(error_of(dir.path(), true).find("cut.jpg: corrupt JPEG"), std::string::npos);
  write_bytes(dir / "train/b/fake.jpg", "not a jpeg at all");
  EXPECT_NE(error_of(dir.path(), true).find("(and 1 more unreadable files)"), std::string::npos);
  // Asked to, unreadable files are skipped (and counted on stderr).
  ReadOptions skip;
  skip.skip_bad = true;
  const Dataset d = load_image_folder(dir.path(), true, skip);
  EXPECT_EQ(d.size(), 4);
  EXPECT_EQ(d.labels, (std::vector<int32_t>{0, 0, 1, 1}));
  // A test class the training folders lack.
  write_png_folder(dir.path(), "test", {"zebra"}, 1, 4, 4);
  EXPECT_NE(error_of(dir.path(), false).find("class 'zebra' has no folder in train/"), std::string::npos);
}

TEST(ImageFolder, TheCacheIsReadBackAndFollowsChangedFiles) {
  TempDir dir;
  write_png_folder(dir.path(), "train", {"a", "b"}, 3, 5, 5);
  ReadOptions o;
  o.cache_dir = dir / "cache";
  o.image_size = 4;
  const Dataset first = load_image_folder(dir.path(), true, o);
  ASSERT_EQ(std::distance(fs::directory_iterator(o.cache_dir), fs::directory_iterator{}), 1);
  const Dataset again = load_image_folder(dir.path(), true, o);
  EXPECT_EQ(again.pixels, first.pixels);
  EXPECT_EQ(again.sample_shape(), (Shape{3, 4, 4}));
  // A file rewritten (another size and content): decoded afresh, a second cache file.
  write_png(dir / "train/a/i0.png", pattern_image(7, 7, 42));
  const Dataset changed = load_image_folder(dir.path(), true, o);
  EXPECT_NE(changed.pixels, first.pixels);
  EXPECT_EQ(std::distance(fs::directory_iterator(o.cache_dir), fs::directory_iterator{}), 2);
  // A corrupt cache file is an error naming it, not garbage samples.
  for (const auto& e : fs::directory_iterator(o.cache_dir)) write_bytes(e.path().string(), "KILNIMG1 truncated");
  EXPECT_NE(error_of(dir.path(), true, o).find("decoded image cache"), std::string::npos);
}

TEST(ImageFolder, ThreadsGiveTheSameSamples) {
  TempDir dir;
  write_png_folder(dir.path(), "train", {"a", "b", "c"}, 20, 9, 7);
  ReadOptions one, many;
  one.threads = 1, many.threads = 3;
  one.image_size = many.image_size = 5;
  int64_t calls = 0, last = -1;
  many.progress = [&](int64_t done, int64_t total) {
    ++calls, last = done;
    EXPECT_EQ(total, 60);
  };
  const Dataset a = load_image_folder(dir.path(), true, one), b = load_image_folder(dir.path(), true, many);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_GE(calls, 1);
  EXPECT_EQ(last, 60);
}
