#pragma once
// MNIST-format idx files (MNIST, Fashion-MNIST, any idx pair), gzip'd or plain.
//
// Format (big-endian): images u32 magic 0x00000803, u32 count, u32 rows, u32 cols, then
// count·rows·cols bytes; labels u32 magic 0x00000801, u32 count, then count bytes. Every header
// field is validated against the file's real length before anything is allocated for it, so a
// truncated file or a header claiming terabytes is an error naming the file, never a crash.
// gzip is recognised by its content, not the name (see byte_reader.h).
#include <string>

#include "data/dataset.h"

namespace kiln {

// Reads an images file and a labels file ("…-images-idx3-ubyte[.gz]", "…-labels-idx1-ubyte[.gz]").
// Labels must be < classes; samples come out as (1, rows, cols).
Dataset load_idx_files(const std::string& images_path, const std::string& labels_path, int64_t classes = 10);

// From a folder holding train-images-idx3-ubyte / train-labels-idx1-ubyte (train) or
// t10k-images-idx3-ubyte / t10k-labels-idx1-ubyte (test), each plain or with .gz.
// The error for a missing file lists the names it looked for.
Dataset load_idx_dir(const std::string& dir, bool train, int64_t classes = 10);

}  // namespace kiln
