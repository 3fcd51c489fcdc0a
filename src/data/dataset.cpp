#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "tensor/rng.h"

namespace kiln {

namespace {
constexpr uint64_t kSplitSalt = 0x76616c69646174ULL;  // "validat": the split's own stream
}

std::vector<uint8_t> Dataset::sample_pixels(int64_t i) const {
  KILN_CHECK(i >= 0 && i < size(), "sample " << i << " of a dataset of " << size());
  const uint8_t* p = sample_data(i);
  return {p, p + sample.numel()};
}

void Dataset::truncate(int64_t n) {
  KILN_CHECK(n >= 0, "truncate to " << n << " samples");
  if (n >= size()) return;
  labels.resize(std::min(labels.size(), static_cast<size_t>(n)));
  targets.resize(std::min(targets.size(), static_cast<size_t>(n)));
  const auto kept = static_cast<size_t>(n * sample.numel());
  if (floats) values.resize(kept);
  else pixels.resize(kept);
  // Give the memory back: a run on 5,000 of 60,000 images should not hold all 60,000.
  labels.shrink_to_fit();
  targets.shrink_to_fit();
  pixels.shrink_to_fit();
  values.shrink_to_fit();
}

Dataset split_validation(Dataset& train, double fraction, uint64_t seed) {
  if (!(fraction > 0 && fraction < 1))
    throw Error("validation fraction " + std::to_string(fraction) + " must be between 0 and 1 (exclusive)");
  const int64_t n = train.size();
  const auto n_val = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  if (n_val == 0 || n_val == n)
    throw Error(train.source + ": a validation fraction of " + std::to_string(fraction) + " of " + std::to_string(n) +
                " samples leaves the " + (n_val == 0 ? "validation" : "training") + " set empty");

  // The first n_val places of a partial Fisher–Yates shuffle: a uniform random subset.
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  Rng rng(seed ^ kSplitSalt);
  std::vector<char> to_val(static_cast<size_t>(n), 0);
  for (int64_t k = 0; k < n_val; ++k) {
    const auto j = k + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - k)));
    std::swap(idx[static_cast<size_t>(k)], idx[static_cast<size_t>(j)]);
    to_val[static_cast<size_t>(idx[static_cast<size_t>(k)])] = 1;
  }

  const int64_t S = train.sample.numel();
  Dataset val;
  val.source = train.source + " (validation split)";
  val.sample = train.sample;
  val.class_names = train.class_names;
  val.features = train.features;
  val.floats = train.floats;
  val.target = train.target;
  val.labels.reserve(static_cast<size_t>(n_val));
  // One pass in order: validation samples are copied out, the rest compacted in place (a
  // sample only ever moves towards the front, so memmove over the same buffer is safe).
  auto split = [&](auto& from, auto& to) {
    to.reserve(static_cast<size_t>(n_val * S));
    int64_t kept = 0;
    for (int64_t i = 0; i < n; ++i) {
      const auto* src = from.data() + i * S;
      if (to_val[static_cast<size_t>(i)]) {
        to.insert(to.end(), src, src + S);
      } else {
        if (kept != i) std::memmove(from.data() + kept * S, src, static_cast<size_t>(S) * sizeof(*src));
        ++kept;
      }
    }
    from.resize(static_cast<size_t>(kept * S));
  };
  if (train.floats) split(train.values, val.values);
  else split(train.pixels, val.pixels);
  // Labels (classification) or targets (regression), split alike; the other list is empty.
  auto split_one = [&](auto& from, auto& to) {
    if (from.empty()) return;
    int64_t kept = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (to_val[static_cast<size_t>(i)]) to.push_back(from[static_cast<size_t>(i)]);
      else from[static_cast<size_t>(kept++)] = from[static_cast<size_t>(i)];
    }
    from.resize(static_cast<size_t>(kept));
  };
  split_one(train.labels, val.labels);
  split_one(train.targets, val.targets);
  return val;
}

namespace {

// Float samples (tables): the mean and population std of each channel in its own units, in
// double, two passes (the one-pass Σx² - (Σx)² loses everything for large, tightly spread
// columns such as years).
Normalization float_normalization(const Dataset& data) {
  KILN_CHECK(static_cast<int64_t>(data.values.size()) == data.size() * data.sample.numel(),
             data.source << ": " << data.values.size() << " values for " << data.size() << " samples");
  const int64_t C = data.sample[0], plane = data.sample.numel() / C;
  const double N = static_cast<double>(data.size()) * static_cast<double>(plane);
  Normalization norm;
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < data.size(); ++i)
      for (int64_t k = 0; k < plane; ++k) sum += data.sample_values(i)[c * plane + k];
    const double mean = sum / N;
    for (int64_t i = 0; i < data.size(); ++i)
      for (int64_t k = 0; k < plane; ++k) {
        const double d = data.sample_values(i)[c * plane + k] - mean;
        sq += d * d;
      }
    const double sd = std::sqrt(sq / N);
    norm.mean.push_back(static_cast<float>(mean));
    // A constant column has nothing to scale; 1 keeps the loader's values finite.
    norm.std.push_back(sd > 0 && static_cast<float>(sd) > 0 ? static_cast<float>(sd) : 1.f);
  }
  return norm;
}

}  // namespace

void compute_target_normalization(const Dataset& data, Normalization& norm) {
  KILN_CHECK(data.regression(), data.source << ": target statistics of a dataset without targets");
  if (data.size() == 0) throw Error(data.source + ": cannot compute the target's statistics of an empty dataset");
  double sum = 0, sq = 0;
  for (float t : data.targets) sum += t;
  const double mean = sum / static_cast<double>(data.size());
  for (float t : data.targets) sq += (t - mean) * (t - mean);
  const double sd = std::sqrt(sq / static_cast<double>(data.size()));
  norm.target_mean = {static_cast<float>(mean)};
  norm.target_std = {sd > 0 && static_cast<float>(sd) > 0 ? static_cast<float>(sd) : 1.f};
}

Normalization compute_normalization(const Dataset& data) {
  if (data.size() == 0) throw Error(data.source + ": cannot compute the normalisation of an empty dataset");
  if (data.floats) return float_normalization(data);
  KILN_CHECK(data.sample.rank() >= 1 && data.sample[0] > 0 &&
                 static_cast<int64_t>(data.pixels.size()) == data.size() * data.sample.numel(),
             data.source << ": " << data.pixels.size() << " pixel bytes for " << data.size() << " samples of "
                         << data.sample.str());
  const int64_t C = data.sample[0], plane = data.sample.numel() / C;
  // Integer sums are exact (255² · 2^40 pixels would still fit), so only the last step rounds.
  std::vector<uint64_t> sum(static_cast<size_t>(C), 0), sq(static_cast<size_t>(C), 0);
  for (int64_t i = 0; i < data.size(); ++i) {
    const uint8_t* p = data.sample_data(i);
    for (int64_t c = 0; c < C; ++c) {
      uint64_t s = 0, q = 0;
      for (int64_t k = 0; k < plane; ++k) {
        const uint64_t v = p[c * plane + k];
        s += v;
        q += v * v;
      }
      sum[static_cast<size_t>(c)] += s;
      sq[static_cast<size_t>(c)] += q;
    }
  }
  Normalization norm;
  const double N = static_cast<double>(data.size()) * static_cast<double>(plane);
  for (int64_t c = 0; c < C; ++c) {
    const double mean = static_cast<double>(sum[static_cast<size_t>(c)]) / N;  // in pixel units
    const double var = std::max(0.0, static_cast<double>(sq[static_cast<size_t>(c)]) / N - mean * mean);
    const double sd = std::sqrt(var) / 255.0;
    norm.mean.push_back(static_cast<float>(mean / 255.0));
    // A constant channel has nothing to scale; 1 keeps the loader's values finite.
    norm.std.push_back(sd > 0 ? static_cast<float>(sd) : 1.f);
  }
  return norm;
}

}  // namespace kiln
