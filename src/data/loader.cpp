#include "data/loader.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "backend/cpu/lookup.h"
#include "tensor/rng.h"

namespace kiln {

namespace {

// Salts so that shuffling, augmentation and other users of the same run seed (weights,
// dropout, the validation split) draw unrelated numbers.
constexpr uint64_t kShuffleSalt = 0x73687566666c65ULL;  // "shuffle"
constexpr uint64_t kAugmentSalt = 0x6175676d656e74ULL;  // "augment"
// Draws per sample, each with its own counter: enabling one augmentation never changes the
// draws of another.
enum Draw : uint64_t { kCropY, kCropX, kFlip, kCutY, kCutX, kDraws };

// floor(u · n) for u in [0, 1), kept below n against rounding.
int64_t pick(double u, int64_t n) { return std::min(n - 1, static_cast<int64_t>(u * static_cast<double>(n))); }

int64_t stored(const Dataset& d) { return static_cast<int64_t>(d.floats ? d.values.size() : d.pixels.size()); }

}  // namespace

Loader::Loader(const Dataset& data, int64_t batch_size, bool shuffle, uint64_t seed, const Normalization& norm,
               const Augment& augment, Shard shard, Prepare prepare)
    : data_(data),
      n_(data.size()),
      batch_size_(batch_size),
      batches_(batch_size > 0 ? (data.size() + batch_size - 1) / batch_size : 0),
      shuffle_(shuffle),
      seed_(seed),
      augment_(augment),
      shard_(shard) {
  if (shard.ranks < 1 || shard.rank < 0 || shard.rank >= shard.ranks)
    throw Error("loader shard: rank " + std::to_string(shard.rank) + " of " + std::to_string(shard.ranks));
  if (batch_size <= 0) throw Error("batch size must be positive, got " + std::to_string(batch_size));
  const Shape& s = data.sample;
  KILN_CHECK(s.rank() >= 1 && s[0] > 0 && stored(data) == n_ * s.numel(),
             data.source << ": " << stored(data) << " values for " << n_ << " samples of " << s.str());
  channels_ = s[0];
  plane_ = s.numel() / channels_;
  if (static_cast<int64_t>(norm.mean.size()) != channels_ || static_cast<int64_t>(norm.std.size()) != channels_) {
    if (!(data.floats && norm.mean.empty() && norm.std.empty()))
      throw Error("normalisation: " + std::to_string(norm.mean.size()) + " means and " + std::to_string(norm.std.size()) +
                  " standard deviations for " + std::to_string(channels_) + " channels");
  }
  if (data.regression()) {
    if (norm.target_mean.size() != 1 || norm.target_std.size() != 1 || !(norm.target_std[0] > 0) ||
        !std::isfinite(norm.target_mean[0]))
      throw Error(data.source + ": a regression's targets need one mean and one positive std to be standardised with");
    target_mean_ = norm.target_mean[0];
    target_std_ = norm.target_std[0];
  }
  if (data.floats) {
    // Float samples: (value - mean) / std per channel when a normalisation is given (tables),
    // else as they are (numpy arrays); no augmentation.
    if (augment.any()) throw Error(data.source + ": augmentation needs 8-bit image samples, not float arrays");
    for (size_t c = 0; c < norm.mean.size(); ++c) {
      if (!std::isfinite(norm.mean[c]) || !std::isfinite(norm.std[c]) || norm.std[c] <= 0)
        throw Error("normalisation of channel " + std::to_string(c) + ": mean " + std::to_string(norm.mean[c]) +
                    ", std " + std::to_string(norm.std[c]) + " (the std must be positive and both finite)");
      float_mean_.push_back(norm.mean[c]);
      float_std_.push_back(norm.std[c]);
    }
    start_worker(prepare);
    return;
  }
  lut_.resize(static_cast<size_t>(channels_ * 256));
  for (int64_t c = 0; c < channels_; ++c) {
    const double mean = norm.mean[static_cast<size_t>(c)], sd = norm.std[static_cast<size_t>(c)];
    if (!std::isfinite(mean) || !std::isfinite(sd) || sd <= 0)
      throw Error("normalisation of channel " + std::to_string(c) + ": mean " + std::to_string(mean) + ", std " +
                  std::to_string(sd) + " (the std must be positive and both finite)");
    // A table of the 256 possible values: normalising is then one lookup per pixel, computed
    // once in double whatever Real is.
    for (int p = 0; p < 256; ++p) lut_[static_cast<size_t>(c * 256 + p)] = static_cast<Real>((p / 255.0 - mean) / sd);
  }
  if (augment.crop_pad < 0 || augment.cutout < 0)
    throw Error("augmentation: crop_pad and cutout must be >= 0, got " + std::to_string(augment.crop_pad) + " and " +
                std::to_string(augment.cutout));
  if (augment.any()) {
    if (s.rank() != 3) throw Error("augmentation needs image samples (C, H, W), got " + s.str());
    height_ = s[1];
    width_ = s[2];
    crop_rows_.resize(static_cast<size_t>(height_));
    crop_cols_.resize(static_cast<size_t>(width_));
    if (augment.crop_reflect && (augment.crop_pad >= height_ || augment.crop_pad >= width_))
      throw Error("augmentation: crops padded by reflection need crop_pad below the image's sides, got " +
                  std::to_string(augment.crop_pad) + " for images " + s.str());
  }
  start_worker(prepare);
}

void Loader::start_worker(Prepare prepare) {
  inline_ = prepare == Prepare::caller ||
            (prepare == Prepare::automatic && batch_size_ * data_.sample.numel() <= kInlineValues);
  if (!inline_) worker_ = std::thread([this] { work(); });
}

Loader::~Loader() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    ++gen_;  // abandon a batch in progress
  }
  work_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int64_t Loader::batches_per_epoch() const { return batches_; }

void Loader::restart_locked() {
  ++gen_;
  ready_ = false;
  retry_ = false;
  error_ = nullptr;
  job_ = pos_ < batches_ ? pos_ : -1;
  if (job_ >= 0) work_cv_.notify_one();
}

void Loader::start_locked(int64_t epoch) {
  if (epoch < 0) throw Error("start_epoch: epoch " + std::to_string(epoch) + " is negative");
  if (shuffle_ || static_cast<int64_t>(order_.size()) != n_) {
    order_.resize(static_cast<size_t>(n_));
    std::iota(order_.begin(), order_.end(), int64_t{0});
  }
  if (shuffle_) {
    // Fisher–Yates from the identity with a generator seeded by (seed, epoch): the order of an
    // epoch depends on nothing else, whatever was read before.
    Rng rng(splitmix64(seed_ ^ kShuffleSalt) + static_cast<uint64_t>(epoch));
    for (int64_t i = n_ - 1; i > 0; --i)
      std::swap(order_[static_cast<size_t>(i)], order_[rng.below(static_cast<uint64_t>(i + 1))]);
  }
  epoch_ = epoch;
  pos_ = 0;
  restart_locked();
}

void Loader::start_epoch(int64_t epoch) {
  std::lock_guard lk(mu_);
  start_locked(epoch);
}

void Loader::skip(int64_t batches) {
  std::lock_guard lk(mu_);
  if (epoch_ < 0) start_locked(0);
  if (batches < 0 || batches > batches_ - pos_)
    throw Error("skip: cannot skip " + std::to_string(batches) + " batches with " + std::to_string(batches_ - pos_) +
                " left in the epoch (" + std::to_string(batches_) + " in all)");
  if (batches == 0) return;
  pos_ += batches;
  restart_locked();
}

bool Loader::next(Batch& out) {
  std::unique_lock lk(mu_);
  if (epoch_ < 0) start_locked(0);
  if (pos_ >= batches_) return false;
  if (inline_) {
    // Prepared here, into the caller's batch: no hand-over. An exception leaves pos_ where it
    // is, so the next call retries the same batch, as with the worker.
    assign_locked(out, pos_);
    fill(out, epoch_, pos_ * batch_size_ + out.offset, gen_);
    ++pos_;
    return true;
  }
  if (retry_) {  // the last attempt at this batch failed: try again, now that the caller asks
    retry_ = false;
    job_ = pos_;
    work_cv_.notify_one();
  }
  ready_cv_.wait(lk, [this] { return ready_; });
  ready_ = false;
  if (error_) {
    // No new request here: the worker stays idle while the caller deals with the error.
    retry_ = true;
    std::rethrow_exception(std::exchange(error_, nullptr));
  }
  std::swap(out, buf_);
  ++pos_;
  if (pos_ < batches_) {
    job_ = pos_;
    work_cv_.notify_one();
  }
  return true;
}

void Loader::work() {
  std::unique_lock lk(mu_);
  for (;;) {
    work_cv_.wait(lk, [this] { return stop_ || job_ >= 0; });
    if (stop_) return;
    const int64_t b = job_, epoch = epoch_;
    const uint64_t gen = gen_;
    job_ = -1;
    std::exception_ptr err;
    try {
      // The batch's indices are copied while the lock is held: start_epoch may rewrite order_
      // as soon as it is released.
      assign_locked(buf_, b);
    } catch (...) {  // bad_alloc: it must reach the caller, not end the thread
      err = std::current_exception();
    }
    lk.unlock();
    if (!err) {
      try {
        fill(buf_, epoch, b * batch_size_ + buf_.offset, gen);
      } catch (...) {
        err = std::current_exception();
      }
    }
    lk.lock();
    if (gen != gen_) continue;  // stale: start_epoch / skip moved on meanwhile
    ready_ = true;
    error_ = err;
    ready_cv_.notify_all();
  }
}

void Loader::assign_locked(Batch& b, int64_t batch) const {
  const int64_t start = batch * batch_size_, m = std::min(n_, start + batch_size_) - start;
  const int64_t first = start + m * shard_.rank / shard_.ranks, last = start + m * (shard_.rank + 1) / shard_.ranks;
  b.global = m;
  b.offset = first - start;
  b.index.assign(order_.begin() + first, order_.begin() + last);
}

bool Loader::fill(Batch& b, int64_t epoch, int64_t first, uint64_t gen) {
  // The loader holds the dataset by reference; catch a caller that changed it underneath.
  KILN_CHECK(data_.size() == n_ && stored(data_) == n_ * data_.sample.numel(),
             "the dataset changed while a Loader was reading it (" << n_ << " samples at the start, now "
                                                                   << data_.size() << " and " << stored(data_)
                                                                   << " values)");
  const auto n = static_cast<int64_t>(b.index.size());
  // Host memory whatever the caller handed in: the worker writes it with plain stores.
  b.x.ensure(data_.sample.batched(n), Device::cpu);
  b.y.resize(data_.regression() ? 0 : static_cast<size_t>(n));
  if (data_.regression()) {
    b.t.ensure(Shape{n, 1}, Device::cpu);
    for (int64_t j = 0; j < n; ++j)
      b.t.data()[j] = standardise(data_.targets[static_cast<size_t>(b.index[static_cast<size_t>(j)])], target_mean_, target_std_);
  }
  const int64_t S = channels_ * plane_;
  const bool augment = augment_.any();
  for (int64_t j = 0; j < n; ++j) {
    if (j % 16 == 0 && gen_.load(std::memory_order_relaxed) != gen) return false;
    const int64_t i = b.index[static_cast<size_t>(j)];
    if (!data_.regression()) b.y[static_cast<size_t>(j)] = data_.labels[static_cast<size_t>(i)];
    Real* dst = b.x.data() + j * S;
    if (data_.floats) {
      const float* v = data_.sample_values(i);
      if (float_mean_.empty()) std::copy(v, v + S, dst);
      else
        for (int64_t c = 0; c < channels_; ++c)
          for (int64_t k = 0; k < plane_; ++k)
            dst[c * plane_ + k] =
                standardise(v[c * plane_ + k], float_mean_[static_cast<size_t>(c)], float_std_[static_cast<size_t>(c)]);
      continue;
    }
    const uint8_t* src = data_.sample_data(i);
    if (augment) {
      augment_sample(src, dst, epoch, first + j, i);
    } else {
      for (int64_t c = 0; c < channels_; ++c) cpu::lookup_bytes(src + c * plane_, lut_.data() + c * 256, dst + c * plane_, plane_);
    }
  }
  return true;
}

void source_indices(int64_t n, int64_t offset, bool reflect, int64_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = i + offset;
    out[i] = j >= 0 && j < n ? j : !reflect ? -1 : j < 0 ? -j : 2 * (n - 1) - j;
  }
}

void Loader::augment_sample(const uint8_t* src, Real* dst, int64_t epoch, int64_t pos, int64_t index) const {
  const int64_t H = height_, W = width_;
  // Every draw is hash_uniform(seed, epoch, position · kDraws + which): a pure function of the
  // sample's place in the run, so skip() needs no state to reproduce it.
  const uint64_t aug_seed = seed_ ^ kAugmentSalt;
  auto draw = [&](Draw d) {
    return hash_uniform(aug_seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(pos) * kDraws + d);
  };
  int64_t oy = 0, ox = 0;  // output (y, x) shows source (y + oy, x + ox), or padding
  if (augment_.crop_pad > 0) {
    const int64_t p = augment_.crop_pad;
    oy = pick(draw(kCropY), 2 * p + 1) - p;
    ox = pick(draw(kCropX), 2 * p + 1) - p;
  }
  // Alternating flips (Keller Jordan's airbench): a coin per image, keyed by its index in the
  // dataset and not by the epoch, says whether it is flipped in even epochs; odd epochs show
  // the other side. Every image is seen both ways in every two epochs, where independent
  // coins leave a quarter of them one way round.
  bool flip = false;
  if (augment_.alternate_flip)
    flip = (hash_uniform(aug_seed, ~uint64_t{0}, static_cast<uint64_t>(index)) < 0.5) != (epoch % 2 == 1);
  else if (augment_.hflip)
    flip = draw(kFlip) < 0.5;
  // Output (y, x) shows source (crop_rows_[y], crop_cols_[x]), or the padding where either is -1.
  source_indices(H, oy, augment_.crop_reflect, crop_rows_.data());
  source_indices(W, ox, augment_.crop_reflect, crop_cols_.data());
  for (int64_t c = 0; c < channels_; ++c) {
    const Real* lut = lut_.data() + c * 256;
    const Real pad = lut[0];
    for (int64_t y = 0; y < H; ++y) {
      Real* row = dst + (c * H + y) * W;
      const int64_t sy = crop_rows_[static_cast<size_t>(y)];
      if (sy < 0) {
        std::fill(row, row + W, pad);
        continue;
      }
      const uint8_t* srow = src + (c * H + sy) * W;
      for (int64_t x = 0; x < W; ++x) {
        const int64_t sx = crop_cols_[static_cast<size_t>(x)];
        row[x] = sx < 0 ? pad : lut[srow[sx]];
      }
      if (flip) std::reverse(row, row + W);
    }
  }
  if (augment_.cutout > 0) {
    const int64_t side = augment_.cutout;
    const int64_t cy = pick(draw(kCutY), H), cx = pick(draw(kCutX), W);
    const int64_t y0 = std::max<int64_t>(0, cy - side / 2), y1 = std::min(H, cy - side / 2 + side);
    const int64_t xa = std::max<int64_t>(0, cx - side / 2), xb = std::min(W, cx - side / 2 + side);
    for (int64_t c = 0; c < channels_; ++c)
      for (int64_t y = y0; y < y1; ++y) std::fill(dst + (c * H + y) * W + xa, dst + (c * H + y) * W + xb, Real(0));
  }
}

}  // namespace kiln
