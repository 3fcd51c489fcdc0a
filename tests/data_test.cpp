// The data readers on small generated files (never the real datasets): good files read
// exactly, plain and gzip'd; every bad file is a one-line kiln::Error naming the file and the
// problem. Plus the Dataset helpers: normalisation, validation split, truncation, class names.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "data/cifar.h"
#include "data/formats.h"
#include "data/idx.h"
#include "data_files.h"

using namespace kiln;
using namespace kiln::testing;

namespace {

// Runs f and expects a kiln::Error whose message is one line, names `file` and contains every
// one of `parts`.
template <class F>
void expect_error(F&& f, const std::string& file, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one naming " << file;
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_NE(m.find(file), std::string::npos) << "the message does not name " << file << ": " << m;
    for (const std::string& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "no '" << p << "' in: " << m;
  }
}

Bytes idx_header(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols) {
  Bytes s;
  put_be32(s, magic);
  put_be32(s, count);
  put_be32(s, rows);
  put_be32(s, cols);
  return s;
}

void expect_pattern_idx(const Dataset& d, int64_t n, int64_t rows, int64_t cols) {
  ASSERT_EQ(d.size(), n);
  EXPECT_EQ(d.sample_shape(), (Shape{1, rows, cols}));
  ASSERT_EQ(static_cast<int64_t>(d.pixels.size()), n * rows * cols);
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(d.labels[static_cast<size_t>(i)], pattern_label(i)) << "sample " << i;
    for (int64_t k = 0; k < rows * cols; ++k) wrong += d.sample_data(i)[k] != pattern_pixel(i, k);
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(d.classes(), 10);
}

}  // namespace

TEST(IdxReader, ReadsPlainFilesExactly) {
  TempDir dir;
  write_bytes(dir / "im", idx_images(5, 3, 4));
  write_bytes(dir / "lb", idx_labels(5));
  Dataset d = load_idx_files(dir / "im", dir / "lb");
  expect_pattern_idx(d, 5, 3, 4);
  EXPECT_EQ(d.source, dir / "im");
  EXPECT_EQ(d.class_names.front(), "0");
}

TEST(IdxReader, ReadsGzipFilesExactlyOverManyChunks) {
  // 2,500 images of 28x28: about 2 MB decompressed, more than one 1 MiB step of the reader.
  TempDir dir;
  write_bytes(dir / "im.gz", gzip(idx_images(2500, 28, 28)));
  write_bytes(dir / "lb.gz", gzip(idx_labels(2500)));
  Dataset d = load_idx_files(dir / "im.gz", dir / "lb.gz");
  expect_pattern_idx(d, 2500, 28, 28);
  EXPECT_EQ(d.pixels.capacity(), d.pixels.size());  // grown to exactly the data, no slack
}

TEST(IdxReader, GzipIsRecognisedByContentAndMembersMayBeConcatenated) {
  TempDir dir;
  const Bytes im = idx_images(40, 5, 5);
  write_bytes(dir / "im", gzip(im.substr(0, 300)) + gzip(im.substr(300)));  // `cat a.gz b.gz`, no .gz name
  write_bytes(dir / "lb.gz", idx_labels(40));                              // plain bytes under a .gz name
  expect_pattern_idx(load_idx_files(dir / "im", dir / "lb.gz"), 40, 5, 5);
}

TEST(IdxDir, FindsTrainAndTestByTheirStandardNamesPlainOrGz) {
  TempDir dir;
  write_bytes(dir / "train-images-idx3-ubyte", idx_images(6, 4, 4));
  write_bytes(dir / "train-labels-idx1-ubyte", idx_labels(6));
  write_bytes(dir / "t10k-images-idx3-ubyte.gz", gzip(idx_images(3, 4, 4)));
  write_bytes(dir / "t10k-labels-idx1-ubyte.gz", gzip(idx_labels(3)));
  expect_pattern_idx(load_idx_dir(dir.path(), true), 6, 4, 4);
  expect_pattern_idx(load_idx_dir(dir.path(), false), 3, 4, 4);
}

TEST(IdxDir, AMissingFileListsTheNamesLookedFor) {
  TempDir dir;
  write_bytes(dir / "train-images-idx3-ubyte", idx_images(6, 4, 4));
  expect_error([&] { load_idx_dir(dir.path(), true); }, dir.path(),
               {"training labels", "train-labels-idx1-ubyte", "train-labels-idx1-ubyte.gz"});
  expect_error([&] { load_idx_dir(dir.path(), false); }, dir.path(),
               {"test images", "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"});
  expect_error([&] { load_idx_dir(dir / "nope", false); }, dir / "nope", {"no such directory"});
  expect_error([&] { load_idx_files(dir / "nope", dir / "train-images-idx3-ubyte"); }, dir / "nope", {"cannot open"});
}

TEST(IdxErrors, EachBadFileIsAOneLineErrorNamingTheFileAndTheProblem) {
  const Bytes im = idx_images(5, 3, 4), lb = idx_labels(5);
  Bytes lb_out_of_range = lb;
  lb_out_of_range[8 + 2] = 10;
  Bytes im_corrupt = gzip(idx_images(200, 8, 8));
  for (size_t k = im_corrupt.size() / 2; k < im_corrupt.size() / 2 + 8; ++k) im_corrupt[k] = '\xff';
  const Bytes im_gz = gzip(im);

  enum Form { both, plain_only, gz_only };
  struct Case {
    const char* name;
    Bytes images, labels;
    bool labels_bad;  // which file the error must name
    std::vector<std::string> expect;
    Form form = both;
  };
  const std::vector<Case> cases = {
      {"empty images", "", lb, false, {"empty file (expected an idx3 image file)"}},
      {"truncated header", im.substr(0, 7), lb, false, {"truncated header: expected 16 bytes, found 7"}},
      {"four dimensions", idx_images(5, 3, 4, 0x804), lb, false,
       {"wrong magic 0x00000804 (expected 0x00000803, an idx3 image file)", "4 dimensions"}},
      {"two dimensions", idx_images(5, 3, 4, 0x802), lb, false, {"wrong magic 0x00000802", "2 dimensions"}},
      {"labels given as images", lb, lb, false, {"wrong magic 0x00000801", "idx1 label file?"}},
      {"float elements", idx_images(5, 3, 4, 0xd03), lb, false, {"wrong magic 0x00000d03", "element type 0x0d"}},
      {"not idx at all", "\x89PNG\r\n\x1a\n and then some", lb, false, {"wrong magic 0x89504e47", "not an idx file"}},
      {"zero images", idx_images(0, 3, 4), idx_labels(0), false, {"the header says 0 images"}},
      {"zero rows", idx_images(5, 0, 4), lb, false, {"the header says 0 rows"}},
      {"zero columns", idx_images(5, 3, 0), lb, false, {"the header says 0 columns"}},
      {"implausible size", idx_header(0x803, 5, 100000, 4), lb, false, {"implausible image size 100000x4"}},
      {"truncated pixels", im.substr(0, im.size() - 1), lb, false,
       {"truncated: expected 60 bytes of pixel data, found 59"}},
      {"trailing bytes", im + "xy", lb, false, {"trailing bytes: expected 60 bytes of pixel data, found 62"}},
      {"count mismatch", im, idx_labels(4), false, {"holds 5 images but", "holds 4 labels"}},
      {"empty labels", im, "", true, {"empty file (expected an idx1 label file)"}},
      {"labels wrong magic", im, idx_labels(5, 0x803), true,
       {"wrong magic 0x00000803 (expected 0x00000801, an idx1 label file)", "(an idx3 image file?)"}},
      {"truncated labels", im, lb.substr(0, lb.size() - 1), true, {"truncated: expected 5 bytes of label data, found 4"}},
      {"label out of range", im, lb_out_of_range, true, {"label 10 of sample 2 is out of range (expected 0..9)"}},
      {"corrupt gzip", im_corrupt, idx_labels(200), false, {"corrupt gzip data"}, plain_only},  // already gzip'd
      {"truncated gzip", im_gz.substr(0, im_gz.size() / 2), lb, false, {"truncated gzip stream"}, plain_only},
      {"garbage after gzip", im_gz + "garbage", lb, false, {"not gzip"}, plain_only},
  };
  TempDir dir;
  for (const Case& c : cases) {
    for (bool gz : {false, true}) {
      if ((c.form == plain_only && gz) || (c.form == gz_only && !gz)) continue;
      SCOPED_TRACE(std::string(c.name) + (gz ? " (gzip)" : " (plain)"));
      const std::string ip = dir / (std::string("train-images-idx3-ubyte") + (gz ? ".gz" : ""));
      const std::string lp = dir / (std::string("train-labels-idx1-ubyte") + (gz ? ".gz" : ""));
      write_bytes(ip, gz ? gzip(c.images) : c.images);
      write_bytes(lp, gz ? gzip(c.labels) : c.labels);
      expect_error([&] { load_idx_dir(dir.path(), true); }, c.labels_bad ? lp : ip, c.expect);
      if (std::string(c.name) == "count mismatch") expect_error([&] { load_idx_dir(dir.path(), true); }, lp, {});
      std::filesystem::remove(ip);
      std::filesystem::remove(lp);
    }
  }
}

TEST(IdxErrors, AHeaderClaimingTerabytesFailsFastWithoutAllocatingIt) {
  // 4e9 images of 28x28 (3.1 TB) with one image of data. Allocating the claim would throw
  // std::bad_alloc (or abort under ASan), not a kiln::Error.
  TempDir dir;
  const uint32_t count = 4000000000u;
  Bytes im = idx_header(0x803, count, 28, 28), lb;
  for (int k = 0; k < 784; ++k) im.push_back(static_cast<char>(k));
  put_be32(lb, 0x801);
  put_be32(lb, count);
  lb += "\x01\x02";
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  const auto t0 = std::chrono::steady_clock::now();
  for (bool gz : {false, true}) {
    const std::string ip = dir / (gz ? "im.gz" : "im"), lp = dir / (gz ? "lb.gz" : "lb");
    write_bytes(ip, gz ? gzip(im) : im);
    write_bytes(lp, gz ? gzip(lb) : lb);
    expect_error([&] { load_idx_files(ip, lp); }, ip, {"truncated: expected 3136000000000 bytes of pixel data, found 784"});
  }
  // A gzip'd claim of 1 GB over 10 real images: memory follows the data, not the header.
  im = idx_header(0x803, 1300000, 28, 28) + idx_images(10, 28, 28).substr(16);
  lb = idx_labels(1300000).substr(0, 8 + 10);
  write_bytes(dir / "g.gz", gzip(im));
  write_bytes(dir / "l.gz", gzip(lb));
  expect_error([&] { load_idx_files(dir / "g.gz", dir / "l.gz"); }, dir / "g.gz", {"found 7840"});
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 200 * 1024) << "peak memory grew by " << (after.ru_maxrss - before.ru_maxrss) << " KiB";
}

TEST(CifarReader, ReadsRecordsExactlyAcrossFiles) {
  TempDir dir;
  write_bytes(dir / "a.bin", cifar_records(3, 0));
  write_bytes(dir / "b.bin", cifar_records(2, 3));
  Dataset d = load_cifar10_files({dir / "a.bin", dir / "b.bin"});
  ASSERT_EQ(d.size(), 5);
  EXPECT_EQ(d.sample_shape(), (Shape{3, 32, 32}));
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(d.labels[static_cast<size_t>(i)], pattern_label(i));
    const std::vector<uint8_t> px = d.sample_pixels(i);
    ASSERT_EQ(px.size(), 3072u);
    for (int64_t k = 0; k < 3072; ++k) ASSERT_EQ(px[static_cast<size_t>(k)], pattern_pixel(i, k)) << i << " " << k;
  }
  EXPECT_EQ(d.class_names, default_class_names("cifar10", 10));
  EXPECT_EQ(d.class_names[1], "automobile");
}

TEST(CifarDir, TrainIsTheFiveBatchesTestIsTestBatchNamesFromMeta) {
  TempDir dir;
  for (int b = 1; b <= 5; ++b) write_bytes(dir / ("data_batch_" + std::to_string(b) + ".bin"), cifar_records(2, (b - 1) * 2));
  write_bytes(dir / "test_batch.bin", gzip(cifar_records(3)));  // gzip'd content reads too
  Dataset train = load_cifar10_dir(dir.path(), true);
  ASSERT_EQ(train.size(), 10);
  for (int64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(train.labels[static_cast<size_t>(i)], pattern_label(i));
    EXPECT_EQ(train.sample_data(i)[100], pattern_pixel(i, 100));
  }
  EXPECT_EQ(load_cifar10_dir(dir.path(), false).size(), 3);
  write_bytes(dir / "batches.meta.txt", "a\r\nb\r\nc\nd\ne\nf\ng\nh\ni\nj  \n\n\n");
  const Dataset test = load_cifar10_dir(dir.path(), false);
  EXPECT_EQ(test.class_names, (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}));
  // The official archive's folder, one level down, is found too.
  TempDir up;
  std::filesystem::create_directories(up / "cifar-10-batches-bin");
  write_bytes(up / "cifar-10-batches-bin/test_batch.bin", cifar_records(4));
  EXPECT_EQ(load_cifar10_dir(up.path(), false).size(), 4);
}

TEST(CifarErrors, EachBadFileIsAOneLineErrorNamingTheFile) {
  TempDir dir;
  Bytes bad_label = cifar_records(3);
  bad_label[2 * 3073] = 10;
  write_bytes(dir / "odd.bin", cifar_records(2) + "abc");
  write_bytes(dir / "label.bin", bad_label);
  write_bytes(dir / "empty.bin", "");
  write_bytes(dir / "odd.bin.gz", gzip(cifar_records(2) + "abc"));
  write_bytes(dir / "good.bin", cifar_records(1));
  expect_error([&] { load_cifar10_files({dir / "good.bin", dir / "odd.bin"}); }, dir / "odd.bin",
               {"6149 bytes is not a whole number of 3073-byte CIFAR-10 records (2 records and 3 bytes left over)"});
  expect_error([&] { load_cifar10_files({dir / "odd.bin.gz"}); }, dir / "odd.bin.gz", {"not a whole number", "3 bytes left over"});
  expect_error([&] { load_cifar10_files({dir / "label.bin"}); }, dir / "label.bin",
               {"record 2 (byte offset 6146): label 10 is out of range (expected 0..9)"});
  expect_error([&] { load_cifar10_files({dir / "empty.bin"}); }, dir / "empty.bin", {"empty file"});
  expect_error([&] { load_cifar10_dir(dir.path(), true); }, dir.path(),
               {"no data_batch_1.bin", "data_batch_1.bin, data_batch_2.bin", "data_batch_5.bin"});
  write_bytes(dir / "test_batch.bin", cifar_records(1));
  write_bytes(dir / "batches.meta.txt", "cat\ndog\n");
  expect_error([&] { load_cifar10_dir(dir.path(), false); }, dir / "batches.meta.txt", {"expected 10 class names", "found 2"});
}

TEST(DataNormalization, MatchesADoublePrecisionReferencePerChannel) {
  Dataset d = pattern_dataset(37, 3, 5, 7);
  const Normalization n = compute_normalization(d);
  ASSERT_EQ(n.mean.size(), 3u);
  ASSERT_EQ(n.std.size(), 3u);
  for (int64_t c = 0; c < 3; ++c) {
    double s = 0, count = 0;
    for (int64_t i = 0; i < d.size(); ++i)
      for (int64_t k = 0; k < 35; ++k, ++count) s += d.sample_data(i)[c * 35 + k] / 255.0;
    const double mean = s / count;
    double v = 0;
    for (int64_t i = 0; i < d.size(); ++i)
      for (int64_t k = 0; k < 35; ++k) v += std::pow(d.sample_data(i)[c * 35 + k] / 255.0 - mean, 2);
    EXPECT_NEAR(n.mean[static_cast<size_t>(c)], mean, 1e-6);
    EXPECT_NEAR(n.std[static_cast<size_t>(c)], std::sqrt(v / count), 1e-6);  // population std
  }
  // A constant channel has std 0; it gets 1 so that normalised values stay finite.
  std::fill(d.pixels.begin(), d.pixels.end(), uint8_t{51});
  const Normalization flat = compute_normalization(d);
  EXPECT_NEAR(flat.mean[0], 0.2, 1e-7);
  EXPECT_EQ(flat.std[0], 1.f);
  Dataset empty;
  empty.sample = Shape{1, 2, 2};
  EXPECT_THROW(compute_normalization(empty), Error);
}

TEST(DataSplit, ValidationIsSeededDisjointCoveringAndKeepsOrder) {
  // Sample i is recognisable by its pixels (pattern) and its 2-byte id in pixels 0 and 1.
  auto make = [] {
    Dataset d = pattern_dataset(200, 1, 2, 2);
    for (int64_t i = 0; i < 200; ++i) {
      d.pixels[static_cast<size_t>(i * 4)] = static_cast<uint8_t>(i & 0xff);
      d.pixels[static_cast<size_t>(i * 4 + 1)] = static_cast<uint8_t>(i >> 8);
    }
    return d;
  };
  auto ids = [](const Dataset& d) {
    std::vector<int64_t> v;
    for (int64_t i = 0; i < d.size(); ++i) {
      const int64_t id = d.sample_data(i)[0] | (d.sample_data(i)[1] << 8);
      EXPECT_EQ(d.labels[static_cast<size_t>(i)], pattern_label(id));
      EXPECT_EQ(d.sample_data(i)[2], pattern_pixel(id, 2));
      v.push_back(id);
    }
    return v;
  };
  Dataset a = make();
  const Dataset va = split_validation(a, 0.25, 7);
  EXPECT_EQ(a.size(), 150);
  EXPECT_EQ(va.size(), 50);
  EXPECT_EQ(static_cast<int64_t>(a.pixels.size()), 150 * 4);
  EXPECT_EQ(va.sample, a.sample);
  EXPECT_EQ(va.class_names, a.class_names);
  const std::vector<int64_t> ta = ids(a), tv = ids(va);
  EXPECT_TRUE(std::is_sorted(ta.begin(), ta.end()));
  EXPECT_TRUE(std::is_sorted(tv.begin(), tv.end()));
  std::set<int64_t> all(ta.begin(), ta.end());
  all.insert(tv.begin(), tv.end());
  EXPECT_EQ(all.size(), 200u);  // disjoint and covering
  EXPECT_GT(tv.back() - tv.front(), 100);  // spread over the set, not a block

  Dataset b = make(), c = make();
  EXPECT_EQ(ids(split_validation(b, 0.25, 7)), tv);  // same seed, same split
  EXPECT_NE(ids(split_validation(c, 0.25, 8)), tv);

  Dataset d = make();
  expect_error([&] { split_validation(d, 0.001, 1); }, "pattern", {"validation set empty"});
  expect_error([&] { split_validation(d, 0.999, 1); }, "pattern", {"training set empty"});
  EXPECT_THROW(split_validation(d, 1.5, 1), Error);
  EXPECT_EQ(d.size(), 200);  // untouched by the refusals
}

TEST(DataSet, TruncateSamplePixelsAndClassNames) {
  Dataset d = pattern_dataset(10, 2, 3, 3);
  d.truncate(20);
  EXPECT_EQ(d.size(), 10);
  d.truncate(4);
  EXPECT_EQ(d.size(), 4);
  EXPECT_EQ(d.pixels.size(), 4u * 18);
  EXPECT_EQ(d.sample_pixels(3)[17], pattern_pixel(3, 17));
  EXPECT_THROW(d.sample_pixels(4), std::logic_error);

  EXPECT_EQ(default_class_names("fashion-mnist", 10).front(), "T-shirt/top");
  EXPECT_EQ(default_class_names("fashion-mnist", 10).back(), "Ankle boot");
  EXPECT_EQ(default_class_names("cifar10", 10).back(), "truck");
  EXPECT_EQ(default_class_names("mnist", 10)[7], "7");
  EXPECT_EQ(default_class_names("idx", 3), (std::vector<std::string>{"0", "1", "2"}));
}
