#pragma once
// The dataset formats of experiment files, one row each in one table (formats.cpp): the name
// that [data] dataset takes, where its files are by default and how to get them, the sample
// shape when it is known without reading them, the class names, and the reader. The config
// (allowed names, the default folder), the run setup, `kiln eval`, `kiln summary` and the
// report all read this table; a new format is its reader's file plus one row.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace kiln {

// What readers of decoded formats (image folders) need beyond the folder: the [data] keys of
// that kind, set from the experiment (config/experiment.cpp's DataConfig::read_options()).
struct ReadOptions {
  int64_t image_size = 0;       // side of the square samples (0: the first image's size)
  int64_t channels = 0;         // 1 grey, 3 RGB (0: the first image's)
  std::string fit = "resize";   // "resize" or "crop" (image_decode.h)
  std::string cache_dir;        // where decoded folders are kept between runs ("": memory only)
  bool skip_bad = false;        // skip unreadable files, counting them, instead of an error
  int64_t threads = 0;          // decoding threads (0: all cores)
  std::string label = "label";  // CSV: the column holding the class
  std::string target;           // CSV regression: the numeric target column ("": classification)
  // When given, the classes a split's labels must be among, in this order (a CSV test split
  // reads with its training split's classes, or a saved model's).
  std::vector<std::string> class_names = {};
  // Called now and then from the reading thread with (files decoded, files in all).
  std::function<void(int64_t, int64_t)> progress = {};
};

struct DataFormat {
  std::string name;                      // "fashion-mnist"
  std::string help;                      // one line: what it is
  std::string default_dir;               // [data] dir when the experiment names none ("": required)
  std::string how_to_get;                // said when the folder is missing
  std::optional<Shape> sample;           // per-sample shape, when known without reading the files
  std::vector<std::string> class_names;  // empty: "0", "1", ... (or what the files say)
  // Reads the training or the test split from `dir`.
  Dataset (*read)(const std::string& dir, bool train, const ReadOptions& options);
  // CRC-32s of the training labels (one byte each) of the standard copies of this set: how
  // a folder is recognised as holding it (MNIST and Fashion-MNIST files are alike in every
  // other way). Empty: nothing to recognise.
  std::vector<uint32_t> known_train_labels = {};
};

const std::vector<DataFormat>& data_formats();
// The row named `name`; throws kiln::Error listing the known ones (with a suggestion).
const DataFormat& data_format(const std::string& name);
std::vector<std::string> data_format_names();

// The format whose standard training labels `train` holds, or null.
const DataFormat* recognise(const Dataset& train);

// The class names of a format for `classes` classes: its own list when it has one of that
// length, else "0", "1", ... up to `classes`.
std::vector<std::string> default_class_names(const std::string& format, int64_t classes);

}  // namespace kiln
