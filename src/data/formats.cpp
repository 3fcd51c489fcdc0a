#include "data/formats.h"

#include <zlib.h>

#include "data/cifar.h"
#include "data/csv.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "tensor/suggest.h"

namespace kiln {

namespace {

Dataset read_idx(const std::string& dir, bool train, const ReadOptions&) { return load_idx_dir(dir, train); }
Dataset read_cifar10(const std::string& dir, bool train, const ReadOptions&) { return load_cifar10_dir(dir, train); }

}  // namespace

const std::vector<DataFormat>& data_formats() {
  static const std::vector<DataFormat> formats{
      {"fashion-mnist", "Fashion-MNIST: 28x28 grey images of clothing, 10 classes (idx files)",
       "/usr/share/datasets/fashion-mnist",
       "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or set data.dir to a "
       "folder holding its four idx files",
       Shape{1, 28, 28},
       {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
       read_idx,
       {0x2ed6e46a}},
      {"mnist", "MNIST: 28x28 grey handwritten digits, 10 classes (idx files)", "../shared/datasets/mnist",
       "set data.dir to a folder holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
       "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (the files from yann.lecun.com or a mirror)",
       Shape{1, 28, 28},
       {},
       read_idx,
       {0xba07e8ef}},
      {"idx", "any MNIST-format pair of idx files (train-* and t10k-*)", "",
       "set data.dir to the folder holding the idx files", std::nullopt, {}, read_idx},
      {"cifar10", "CIFAR-10, binary version: 32x32 colour images, 10 classes", ".data/cifar10",
       "set data.dir to a folder holding data_batch_1.bin ... data_batch_5.bin and test_batch.bin (from the "
       "binary archive, or ../shared/datasets/cifar10-jpg/make-cifar10-bin.sh DIR)",
       Shape{3, 32, 32}, cifar10_class_names(), read_cifar10},
      {"folder", "image files in class folders: DIR/train/CLASS/*.png|jpg|jpeg and DIR/test/CLASS/... (or val/)", "",
       "set data.dir to a folder holding train/ and test/ (or val/), each with one sub-folder of images per class",
       std::nullopt, {}, load_image_folder},
      {"csv", "a table with a header row: DIR/train.csv and DIR/test.csv (or val.csv), the class in column data.label, "
       "numeric features in the others", "",
       "set data.dir to a folder holding train.csv (and test.csv or val.csv; without one a fifth of train.csv is held "
       "out), each with a header row, and data.label to the name of the class column",
       std::nullopt, {}, load_csv_dir},
  };
  return formats;
}

std::vector<std::string> data_format_names() {
  std::vector<std::string> names;
  for (const auto& f : data_formats()) names.push_back(f.name);
  return names;
}

const DataFormat& data_format(const std::string& name) {
  for (const auto& f : data_formats())
    if (f.name == name) return f;
  const auto names = data_format_names();
  throw Error("data.dataset: unknown dataset '" + name + "'" + did_you_mean(name, names) + " (expected " +
              join_or(names) + ")");
}

const DataFormat* recognise(const Dataset& train) {
  std::vector<uint8_t> bytes(train.labels.begin(), train.labels.end());
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0L, bytes.data(), static_cast<uInt>(bytes.size())));
  for (const auto& f : data_formats())
    for (uint32_t known : f.known_train_labels)
      if (known == crc) return &f;
  return nullptr;
}

std::vector<std::string> default_class_names(const std::string& format, int64_t classes) {
  for (const auto& f : data_formats())
    if (f.name == format && static_cast<int64_t>(f.class_names.size()) == classes) return f.class_names;
  std::vector<std::string> names;
  for (int64_t k = 0; k < classes; ++k) names.push_back(std::to_string(k));
  return names;
}

}  // namespace kiln
