#pragma once
// CIFAR-10, binary version: records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G,
// 1024 B, row-major 32x32). Training: data_batch_1.bin … data_batch_5.bin; test:
// test_batch.bin; class names from batches.meta.txt when present (one per line), else the
// standard ten. A file whose size is not a whole number of records, or a label ≥ 10, is an
// error naming the file (and the record). gzip'd files are read too (recognised by content).
// load_cifar10_dir also looks in <dir>/cifar-10-batches-bin/, where the official archive
// unpacks; load_cifar10_files gives the standard names.
#include <string>

#include "data/dataset.h"

namespace kiln {

Dataset load_cifar10_files(const std::vector<std::string>& paths);
// The standard ten, in label order.
std::vector<std::string> cifar10_class_names();
Dataset load_cifar10_dir(const std::string& dir, bool train);

}  // namespace kiln
