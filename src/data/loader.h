#pragma once
// Batches for training and evaluation: shuffling, normalisation and augmentation, prepared on
// a background thread one batch ahead so the trainer never waits on data; small batches in
// next() itself (Prepare below).
//
// Everything random is a pure function of (seed, epoch, position): the order of an epoch is a
// seeded permutation, and each sample's crop offset / flip / cutout is drawn from a
// counter-based generator (hash_uniform) keyed by (seed, epoch, position in the epoch). So a
// resumed run (start_epoch(e); skip(b)) sees exactly the batches an uninterrupted run would,
// with no generator state to save.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"

namespace kiln {

// Applied in this order, to the normalised sample. The padding of the crop is black (pixel
// value 0, so -mean/std after normalisation, as torchvision's RandomCrop before Normalize),
// or with crop_reflect the image reflected at its edges without repeating them (row -1 is
// row 1: PyTorch's "reflect" padding, as airbench94; crop_pad < H and W);
// cutout sets its square to 0 after normalisation, i.e. to the dataset mean (as DeVries &
// Taylor's Cutout after Normalize). The square's centre is anywhere in the image and it is
// clipped at the borders.
struct Augment {
  int64_t crop_pad = 0;  // random crop of the original size from the image zero-padded by this
  bool hflip = false;    // horizontal flip with probability 1/2
  int64_t cutout = 0;    // zero a random square of this side (0: off)
  // Instead of hflip's coin: each image flipped on alternate epochs, from a seeded coin per
  // image (its index in the dataset) that picks the side of epochs 0, 2, 4, ...
  bool alternate_flip = false;
  bool crop_reflect = false;  // crop_pad's padding reflects the image instead of being black
  bool any() const { return crop_pad > 0 || hflip || alternate_flip || cutout > 0; }
};

// Where each index i < n of a row or column moved by `offset` reads from: j = i + offset where
// that is inside [0, n); outside, with `reflect`, j reflected back in without repeating the
// edge (-1 -> 1, n -> n - 2; |offset| < n), else -1 (padding). The crops' rows and columns
// (output y shows source y + oy), and the test-time translations (train/evaluate.cpp).
void source_indices(int64_t n, int64_t offset, bool reflect, int64_t* out);

struct Batch {
  Tensor x;                    // (n, C, H, W), normalised floats
  std::vector<int32_t> y;      // n labels (classification; empty for regression)
  Tensor t;                    // regression: (n, 1) targets, standardised as Normalization says
  std::vector<int64_t> index;  // n indices into the dataset
  int64_t global = 0;          // samples in the global batch this one is a shard of (n for one rank)
  int64_t offset = 0;          // where this shard starts in the global batch (0 for one rank)
  // Samples in the batch: its targets' rows for a regression, else its labels.
  int64_t size() const { return t.numel() > 0 ? t.dim(0) : static_cast<int64_t>(y.size()); }
};

// Data-parallel reading: of each global batch of m samples (positions [p, p + m) of the
// epoch's order), rank r of `ranks` takes positions [p + m·r/ranks, p + m·(r+1)/ranks). The
// order and every augmentation draw stay functions of (seed, epoch, position), so N ranks see
// together exactly the batches one process sees, whatever N is.
struct Shard {
  int rank = 0, ranks = 1;
};

// Who prepares the batches. The worker: a background thread, one batch ahead. The caller:
// next() itself, with no thread. Handing a batch over costs a wake-up of the other thread and
// often a wait for it, tens of microseconds on these machines: more than preparing a batch of
// a few images (one MNIST image is 784 table lookups, about 1 µs), which is what one-image
// inference asks for, batch after batch. automatic: the caller for batches of at most
// kInlineValues values, else the worker. Both give the same batches.
enum class Prepare { automatic, worker, caller };

class Loader {
 public:
  static constexpr int64_t kInlineValues = 16384;

  // shuffle: a new seeded permutation each epoch; otherwise dataset order. The last batch of
  // an epoch may be smaller than batch_size. batch_size is the global batch: with a shard,
  // next() returns this rank's part of it (possibly empty when the batch has fewer samples
  // than there are ranks).
  Loader(const Dataset& data, int64_t batch_size, bool shuffle, uint64_t seed, const Normalization& norm,
         const Augment& augment, Shard shard = {}, Prepare prepare = Prepare::automatic);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t batches_per_epoch() const;
  // Positions the loader at the start of `epoch` (its permutation and augmentation draws).
  void start_epoch(int64_t epoch);
  // Skips `batches` batches of the current epoch (resuming mid-epoch).
  void skip(int64_t batches);
  // The next batch of the epoch into `out`; false at the end (then `out` is left alone).
  // Double buffering: `out` is swapped with the batch the worker prepared, and its old buffers
  // become the worker's for the batch after, so the caller must not keep pointers into `out`
  // across calls. In the steady state nothing is allocated. An exception thrown while
  // preparing the batch is rethrown here (a later call retries the same batch). Without a
  // start_epoch() first, the loader starts epoch 0.
  bool next(Batch& out);

 private:
  void start_worker(Prepare prepare);  // the worker thread, unless the caller prepares the batches
  void work();             // the background thread's loop
  // b's indices, global size and offset for batch `batch` of the current epoch (mu_ held).
  void assign_locked(Batch& b, int64_t batch) const;
  void restart_locked();   // drops prefetched work and asks for batch pos_ (mu_ held)
  void start_locked(int64_t epoch);
  // Builds the batch whose indices are in b.index, at position `first` of `epoch`; false
  // when it was abandoned because the work went stale (gen_ moved on).
  bool fill(Batch& b, int64_t epoch, int64_t first, uint64_t gen);
  void augment_sample(const uint8_t* src, Real* dst, int64_t epoch, int64_t pos, int64_t index) const;

  // Fixed at construction; both threads read them without locking.
  const Dataset& data_;
  const int64_t n_, batch_size_, batches_;
  const bool shuffle_;
  const uint64_t seed_;
  const Augment augment_;
  const Shard shard_;
  bool inline_ = false;  // Prepare::caller: batches prepared in next(), no worker thread
  int64_t channels_ = 0, plane_ = 0, height_ = 0, width_ = 0;
  std::vector<Real> lut_;          // (C, 256): the normalised value of every pixel value
  // augment_sample's source_indices of the rows and columns; the worker's alone.
  mutable std::vector<int64_t> crop_rows_, crop_cols_;
  std::vector<double> float_mean_, float_std_;  // float samples: per channel (empty: as they are)
  double target_mean_ = 0, target_std_ = 1;      // regression: the target's standardisation

  // Shared between the caller and the worker, guarded by mu_.
  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  std::vector<int64_t> order_;  // the current epoch's sample order
  int64_t epoch_ = -1;          // -1: no epoch started yet
  int64_t pos_ = 0;             // the batch next() hands out next
  int64_t job_ = -1;            // the batch the worker is asked to prepare (-1: none)
  bool ready_ = false;          // buf_ holds batch pos_ of the current epoch (or error_)
  bool retry_ = false;          // preparing batch pos_ failed; the next next() asks again
  bool stop_ = false;
  std::exception_ptr error_;
  // Bumped (under mu_) whenever queued or running work goes stale; the worker polls it without
  // the lock so that start_epoch / skip / the destructor need not wait for a whole batch.
  std::atomic<uint64_t> gen_{0};
  // The worker's half of the double buffer (the caller's Batch is the other half): the worker
  // owns it from taking a job until it sets ready_; next() swaps it with the caller's.
  Batch buf_;
  std::thread worker_;  // last, so it starts once everything above exists (none when inline_)
};

}  // namespace kiln
