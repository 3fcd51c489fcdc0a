#pragma once
// Image files in class folders, torchvision's ImageFolder layout:
//   DIR/train/CLASS/*.png|jpg|jpeg   and   DIR/test/CLASS/...  (or DIR/val/CLASS/...)
// Class names are the training sub-folders' names, sorted; the test split's folders must be
// among them. Every file is decoded once (over threads, with a progress callback) into 8-bit
// CHW samples of one size; with a cache folder, the decoded split is kept in a file keyed by
// the files' names, sizes and modification times and the decoding options, so that a later
// run reads it as fast as an idx file.
#include <string>

#include "data/dataset.h"
#include "data/formats.h"

namespace kiln {

Dataset load_image_folder(const std::string& dir, bool train, const ReadOptions& options);

}  // namespace kiln
