#include "data/image_folder.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "data/image_decode.h"
#include "tensor/binio.h"
#include "tensor/check.h"

namespace fs = std::filesystem;

namespace kiln {

namespace {

constexpr char kCacheMagic[9] = "KILNIMG1";

struct Entry {
  std::string path;
  int32_t label;
  int64_t bytes, mtime_ns;
};

// The sub-folders of `split` (sorted): the class names. Hidden entries are ignored, as are
// plain files beside the class folders (a README).
std::vector<std::string> class_folders(const fs::path& split) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(split)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (e.is_directory()) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

fs::path split_folder(const std::string& dir, bool train) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": no such folder (expected train/ and test/ with class folders)");
  if (train) {
    const fs::path p = fs::path(dir) / "train";
    if (!fs::is_directory(p, ec))
      throw Error(dir + ": no train/ folder (an image folder dataset holds train/CLASS/*.png|jpg and test/CLASS/...)");
    return p;
  }
  for (const char* name : {"test", "val"}) {
    const fs::path p = fs::path(dir) / name;
    if (fs::is_directory(p, ec)) return p;
  }
  throw Error(dir + ": no test/ (or val/) folder: the test split is read from there, one sub-folder per class "
                    "(hold out part of train/ with data.validation as well, if you like)");
}

// Every image of the split with its label, in class order then name order; what is not an
// image is an error (or, with skip_bad, skipped and counted in `skipped`).
std::vector<Entry> list_images(const fs::path& split, const std::vector<std::string>& classes, bool train,
                               bool skip_bad, int64_t& skipped, std::string& first_skipped) {
  std::vector<Entry> out;
  const std::vector<std::string> here = train ? classes : class_folders(split);
  for (const std::string& name : here) {
    const auto it = std::find(classes.begin(), classes.end(), name);
    if (it == classes.end())
      throw Error((split / name).string() + ": class '" + name + "' has no folder in train/ (the classes are the " +
                  "training folders: " + std::to_string(classes.size()) + " of them)");
    const auto label = static_cast<int32_t>(it - classes.begin());
    std::vector<Entry> files;
    for (const auto& e : fs::directory_iterator(split / name)) {
      const std::string fname = e.path().filename().string();
      if (fname.empty() || fname[0] == '.') continue;
      const std::string path = e.path().string();
      if (!e.is_regular_file() || !is_image_name(fname)) {
        if (skip_bad) {
          if (skipped++ == 0) first_skipped = path;
          continue;
        }
        throw Error(path + ": not an image file (class folders hold .png, .jpg or .jpeg files; set data.skip_bad = "
                           "true to skip others)");
      }
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot stat");
      files.push_back({path, label, static_cast<int64_t>(st.st_size),
                       static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
    }
    if (files.empty())
      throw Error((split / name).string() + ": empty class folder (no .png, .jpg or .jpeg files in it)");
    std::sort(files.begin(), files.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
    out.insert(out.end(), files.begin(), files.end());
  }
  if (out.empty()) throw Error(split.string() + ": no class folders (expected one sub-folder of images per class)");
  return out;
}

// FNV-1a over everything the decoded split depends on.
struct Hasher {
  uint64_t h = 1469598103934665603ULL;
  void add(const void* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const uint8_t*>(p)[i]) * 1099511628211ULL;
  }
  void add(const std::string& s) { add(s.data(), s.size() + 1); }
  void add(int64_t v) { add(&v, sizeof v); }
};

std::string cache_path(const ReadOptions& o, const fs::path& split, const std::vector<Entry>& files,
                       const std::vector<std::string>& classes) {
  Hasher k;
  k.add(fs::absolute(split).lexically_normal().string());
  k.add(o.image_size), k.add(o.channels), k.add(o.fit), k.add(static_cast<int64_t>(o.skip_bad));
  for (const auto& c : classes) k.add(c);
  for (const auto& f : files) k.add(f.path), k.add(f.bytes), k.add(f.mtime_ns), k.add(static_cast<int64_t>(f.label));
  char name[64];
  std::snprintf(name, sizeof name, "folder-%016llx.bin", static_cast<unsigned long long>(k.h));
  return (fs::path(o.cache_dir) / name).string();
}

void write_cache(const std::string& path, const Dataset& d) {
  BinWriter w;
  w.bytes(kCacheMagic, 8);
  w.pod<int64_t>(d.sample.rank());
  for (int64_t i = 0; i < d.sample.rank(); ++i) w.pod<int64_t>(d.sample[i]);
  w.pod<int64_t>(d.size());
  w.bytes(d.labels.data(), d.labels.size() * sizeof(int32_t));
  w.bytes(d.pixels.data(), d.pixels.size());
  w.commit(path);
}

Dataset read_cache(const std::string& path, Dataset d) {
  BinReader r(path, "decoded image cache");
  r.expect_magic(kCacheMagic);
  const auto rank = r.pod<int64_t>();
  if (rank != 3) r.fail("expected samples of rank 3");
  std::vector<int64_t> dims(3);
  for (auto& v : dims) {
    v = r.pod<int64_t>();
    if (v <= 0 || v > 1 << 16) r.fail("bad sample shape");
  }
  d.sample = Shape{dims[0], dims[1], dims[2]};
  const auto n = r.pod<int64_t>();
  if (n != d.size()) r.fail("holds " + std::to_string(n) + " samples, the folder " + std::to_string(d.size()));
  std::vector<int32_t> labels(static_cast<size_t>(n));
  r.raw(labels.data(), labels.size() * sizeof(int32_t));
  if (labels != d.labels) r.fail("labels differ from the folder's");
  d.pixels.resize(static_cast<size_t>(n * d.sample.numel()));
  r.raw(d.pixels.data(), d.pixels.size());
  if (!r.at_end()) r.fail("trailing bytes");
  return d;
}

}  // namespace

Dataset load_image_folder(const std::string& dir, bool train, const ReadOptions& o) {
  const fs::path split = split_folder(dir, train);
  const std::vector<std::string> classes = class_folders(fs::path(dir) / "train");
  if (classes.empty()) throw Error((fs::path(dir) / "train").string() + ": no class folders (expected one sub-folder of images per class)");
  int64_t skipped = 0;
  std::string first_skipped;
  std::vector<Entry> files = list_images(split, classes, train, o.skip_bad, skipped, first_skipped);

  Dataset d;
  d.source = split.string();
  d.class_names = classes;
  for (const auto& f : files) d.labels.push_back(f.label);
  const std::string cache = o.cache_dir.empty() ? "" : cache_path(o, split, files, classes);
  std::error_code ec;
  if (!cache.empty() && fs::exists(cache, ec)) return read_cache(cache, std::move(d));

  // The sample's shape: the options, else the first image's.
  const Fit fit = o.fit == "crop" ? Fit::crop : Fit::resize;
  int64_t C = o.channels, side_h = o.image_size, side_w = o.image_size;
  if (C == 0 || side_h == 0) {
    const DecodedImage first = decode_image_file(files[0].path, o.channels);
    if (C == 0) C = first.channels;
    if (side_h == 0) side_h = first.height, side_w = first.width;
  }
  d.sample = Shape{C, side_h, side_w};
  const int64_t numel = d.sample.numel(), n = static_cast<int64_t>(files.size());
  KILN_REQUIRE(n * numel <= (int64_t{1} << 36), split.string() << ": " << n << " images of " << d.sample.str()
                                                              << " are more than kiln holds in memory (2^36 bytes)");
  d.pixels.resize(static_cast<size_t>(n * numel));

  std::vector<std::string> errors(static_cast<size_t>(n));
  std::atomic<int64_t> next{0}, done{0};
  auto work = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < n; done.fetch_add(1)) {
      try {
        const DecodedImage img = decode_image_file(files[static_cast<size_t>(i)].path, C);
        const std::vector<uint8_t> px = fit_image(img, side_h, side_w, fit);
        std::copy(px.begin(), px.end(), d.pixels.begin() + i * numel);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(i)] = e.what();
      }
    }
  };
  const int64_t hw = std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t threads = std::min<int64_t>(o.threads > 0 ? o.threads : hw, std::max<int64_t>(1, n / 16));
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(work);
  if (o.progress) {
    // This thread reports while the others work, then joins the work itself.
    while (done.load() < n && pool.size() > 0 && next.load() < n) {
      o.progress(done.load(), n);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  work();
  for (auto& t : pool) t.join();
  if (o.progress) o.progress(n, n);

  // Unreadable files: the first is the error, or all are dropped and counted.
  int64_t bad = 0;
  size_t first_bad = 0;
  for (size_t i = 0; i < errors.size(); ++i)
    if (!errors[i].empty() && bad++ == 0) first_bad = i;
  if (bad > 0 && !o.skip_bad)
    throw Error(errors[first_bad] + (bad > 1 ? " (and " + std::to_string(bad - 1) + " more unreadable files)" : "") +
                "; set data.skip_bad = true to skip unreadable files");
  if (bad > 0) {
    int64_t kept = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (!errors[static_cast<size_t>(i)].empty()) continue;
      std::copy_n(d.pixels.begin() + i * numel, numel, d.pixels.begin() + kept * numel);
      d.labels[static_cast<size_t>(kept++)] = d.labels[static_cast<size_t>(i)];
    }
    d.truncate(kept);
    if (skipped++ == 0) first_skipped = errors[first_bad];
    skipped += bad - 1;
  }
  if (skipped > 0)
    std::fprintf(stderr, "kiln: %s: skipped %lld files that are not readable images (the first: %s)\n",
                 split.string().c_str(), static_cast<long long>(skipped), first_skipped.c_str());
  if (d.size() == 0) throw Error(split.string() + ": no readable images");
  if (!cache.empty()) {
    fs::create_directories(o.cache_dir, ec);
    write_cache(cache, d);
  }
  return d;
}

}  // namespace kiln
