#include "data/cifar.h"

#include <filesystem>
#include <fstream>
#include <memory>

#include "data/byte_reader.h"

namespace kiln {

namespace {

constexpr int64_t kPixels = 3 * 32 * 32, kRecord = 1 + kPixels, kClasses = 10;
constexpr int64_t kRecordsPerRead = 512;  // 1.5 MB per read

std::string not_whole(int64_t bytes) {
  return std::to_string(bytes) + " bytes is not a whole number of " + std::to_string(kRecord) +
         "-byte CIFAR-10 records (" + std::to_string(bytes / kRecord) + " records and " +
         std::to_string(bytes % kRecord) + " bytes left over)";
}

// Appends the records of one file to d, checking each label.
void read_records(ByteReader& r, std::vector<uint8_t>& buf, Dataset& d) {
  int64_t records = 0;
  for (;;) {
    const int64_t got = r.read(buf.data(), static_cast<int64_t>(buf.size()));
    const int64_t whole = got / kRecord;
    for (int64_t k = 0; k < whole; ++k) {
      const uint8_t* rec = buf.data() + k * kRecord;
      if (rec[0] >= kClasses)
        r.fail("record " + std::to_string(records + k) + " (byte offset " + std::to_string((records + k) * kRecord) +
               "): label " + std::to_string(rec[0]) + " is out of range (expected 0..9)");
      d.labels.push_back(rec[0]);
      d.pixels.insert(d.pixels.end(), rec + 1, rec + kRecord);
    }
    records += whole;
    // buf holds whole records, so a short read is the end and any part record is left over.
    if (got < static_cast<int64_t>(buf.size())) {
      if (got % kRecord != 0) r.fail(not_whole(records * kRecord + got % kRecord));
      break;
    }
  }
  if (records == 0) r.fail("empty file (expected CIFAR-10 records of " + std::to_string(kRecord) + " bytes)");
}

// batches.meta.txt: one class name per line (blank lines, as in the original, are skipped).
std::vector<std::string> read_meta(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(path + ": cannot open");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(f, line)) {
    const size_t end = line.find_last_not_of(" \t\r");
    if (end == std::string::npos) continue;
    names.push_back(line.substr(0, end + 1));
  }
  if (static_cast<int64_t>(names.size()) != kClasses)
    throw Error(path + ": expected " + std::to_string(kClasses) + " class names (one a line), found " +
                std::to_string(names.size()));
  return names;
}

}  // namespace

std::vector<std::string> cifar10_class_names() {
  return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
}

Dataset load_cifar10_files(const std::vector<std::string>& paths) {
  if (paths.empty()) throw Error("CIFAR-10: no files given");
  // Open every file and check the sizes of the plain ones before reading (or allocating) anything.
  std::vector<std::unique_ptr<ByteReader>> readers;
  int64_t known_records = 0;
  for (const std::string& p : paths) {
    readers.push_back(std::make_unique<ByteReader>(p));
    const int64_t bytes = readers.back()->known_remaining();
    if (bytes == 0) readers.back()->fail("empty file (expected CIFAR-10 records of " + std::to_string(kRecord) + " bytes)");
    if (bytes > 0 && bytes % kRecord != 0) readers.back()->fail(not_whole(bytes));
    if (bytes > 0) known_records += bytes / kRecord;
  }
  Dataset d;
  d.source = paths.size() == 1 ? paths[0] : paths[0] + " and " + std::to_string(paths.size() - 1) + " more";
  d.sample = Shape{3, 32, 32};
  d.pixels.reserve(static_cast<size_t>(known_records * kPixels));
  d.labels.reserve(static_cast<size_t>(known_records));
  std::vector<uint8_t> buf(static_cast<size_t>(kRecordsPerRead * kRecord));
  for (auto& r : readers) read_records(*r, buf, d);
  d.class_names = cifar10_class_names();
  return d;
}

Dataset load_cifar10_dir(const std::string& dir, bool train) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": no such directory (expected CIFAR-10 binary files)");
  std::vector<std::string> names;
  if (train) {
    for (int b = 1; b <= 5; ++b) names.push_back("data_batch_" + std::to_string(b) + ".bin");
  } else {
    names.push_back("test_batch.bin");
  }
  // The official archive unpacks into cifar-10-batches-bin/; accept the folder above it too.
  std::string root = dir;
  if (!fs::exists(fs::path(dir) / names[0]) && fs::exists(fs::path(dir) / "cifar-10-batches-bin" / names[0]))
    root = (fs::path(dir) / "cifar-10-batches-bin").string();
  std::vector<std::string> paths;
  for (const std::string& n : names) {
    const std::string p = (fs::path(root) / n).string();
    if (!fs::exists(p)) {
      std::string looked;
      for (const std::string& m : names) looked += (looked.empty() ? "" : ", ") + m;
      throw Error(dir + ": no " + n + " (CIFAR-10 " + (train ? "training" : "test") + " data: looked for " + looked +
                  ", here or in cifar-10-batches-bin/)");
    }
    paths.push_back(p);
  }
  Dataset d = load_cifar10_files(paths);
  d.source = root;
  const fs::path meta = fs::path(root) / "batches.meta.txt";
  if (fs::exists(meta)) d.class_names = read_meta(meta.string());
  return d;
}

}  // namespace kiln
