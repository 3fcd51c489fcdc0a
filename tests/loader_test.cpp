// The loader: permutations, determinism and resume, normalisation, each augmentation checked
// against its definition, buffer reuse, and the background worker (errors, restarts while it is
// busy, shutdown); each one both ways, batches prepared by the worker and by the caller.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <set>
#include <thread>
#include <tuple>

#include "data/loader.h"
#include "data_files.h"
#include "tensor/rng.h"

using namespace kiln;
using namespace kiln::testing;

namespace {

struct Taken {
  std::vector<int64_t> index;
  std::vector<int32_t> y;
  std::vector<Real> x;
  Shape shape;
  bool operator==(const Taken& o) const = default;
};

Taken take(const Batch& b) { return {b.index, b.y, std::vector<Real>(b.x.data(), b.x.data() + b.x.numel()), b.x.shape()}; }

// The batches of `epoch` from batch `from` on.
std::vector<Taken> epoch_batches(Loader& l, int64_t epoch, int64_t from = 0) {
  l.start_epoch(epoch);
  if (from > 0) l.skip(from);
  std::vector<Taken> out;
  Batch b;
  while (l.next(b)) out.push_back(take(b));
  return out;
}

std::vector<int64_t> order_of(const std::vector<Taken>& batches) {
  std::vector<int64_t> v;
  for (const Taken& t : batches) v.insert(v.end(), t.index.begin(), t.index.end());
  return v;
}

Normalization identity_norm(int64_t C) {
  return {std::vector<float>(static_cast<size_t>(C), 0.f), std::vector<float>(static_cast<size_t>(C), 1.f)};
}

Real normalised(uint8_t p, float mean, float sd) { return static_cast<Real>((p / 255.0 - mean) / sd); }

// Plain-normalised copy of sample i, (C, H, W).
std::vector<Real> plain_sample(const Dataset& d, int64_t i, const Normalization& n) {
  const int64_t S = d.sample.numel(), plane = S / d.sample[0];
  std::vector<Real> v(static_cast<size_t>(S));
  for (int64_t k = 0; k < S; ++k)
    v[static_cast<size_t>(k)] = normalised(d.sample_data(i)[k], n.mean[static_cast<size_t>(k / plane)], n.std[static_cast<size_t>(k / plane)]);
  return v;
}

// Every sample of every batch, with its dataset index: (index, values).
std::vector<std::pair<int64_t, std::vector<Real>>> samples_of(const std::vector<Taken>& batches, int64_t S) {
  std::vector<std::pair<int64_t, std::vector<Real>>> out;
  for (const Taken& t : batches)
    for (size_t j = 0; j < t.index.size(); ++j)
      out.emplace_back(t.index[j], std::vector<Real>(t.x.begin() + static_cast<int64_t>(j) * S, t.x.begin() + static_cast<int64_t>(j + 1) * S));
  return out;
}

}  // namespace

namespace kiln {
// The parameter's name in test listings (gtest prints the bytes of an enum otherwise).
void PrintTo(Prepare p, std::ostream* os) { *os << (p == Prepare::worker ? "worker" : p == Prepare::caller ? "caller" : "automatic"); }
}  // namespace kiln

namespace {

// Every behaviour holds whoever prepares the batches: the background worker or next() itself.
class LoaderEitherWay : public ::testing::TestWithParam<Prepare> {};

}  // namespace

INSTANTIATE_TEST_SUITE_P(Prepare, LoaderEitherWay, ::testing::Values(Prepare::worker, Prepare::caller),
                         [](const auto& info) { return info.param == Prepare::worker ? "worker" : "caller"; });

TEST_P(LoaderEitherWay, EachEpochIsAPermutationAndTheLastBatchIsShort) {
  const Dataset d = pattern_dataset(103, 1, 4, 5);
  const Normalization norm = identity_norm(1);
  Loader l(d, 10, /*shuffle=*/true, 5, norm, Augment{}, {}, GetParam());
  EXPECT_EQ(l.batches_per_epoch(), 11);
  for (int64_t epoch : {0, 1}) {
    const std::vector<Taken> bs = epoch_batches(l, epoch);
    ASSERT_EQ(bs.size(), 11u);
    for (size_t b = 0; b < 11; ++b) EXPECT_EQ(bs[b].shape, (Shape{b < 10 ? 10 : 3, 1, 4, 5}));
    std::vector<int64_t> order = order_of(bs);
    for (const auto& [i, x] : samples_of(bs, 20)) EXPECT_EQ(x, plain_sample(d, i, norm));
    for (const Taken& t : bs)
      for (size_t j = 0; j < t.y.size(); ++j) EXPECT_EQ(t.y[j], d.labels[static_cast<size_t>(t.index[j])]);
    EXPECT_FALSE(std::is_sorted(order.begin(), order.end()));
    std::sort(order.begin(), order.end());
    std::vector<int64_t> all(103);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(order, all);  // every sample exactly once
  }
}

TEST_P(LoaderEitherWay, WithoutShuffleItFollowsTheDatasetOrder) {
  const Dataset d = pattern_dataset(25, 2, 3, 3);
  Loader l(d, 8, /*shuffle=*/false, 5, identity_norm(2), Augment{}, {}, GetParam());
  Batch b;
  ASSERT_TRUE(l.next(b));  // no start_epoch: epoch 0
  EXPECT_EQ(b.index, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  std::vector<int64_t> order = order_of(epoch_batches(l, 3));
  std::vector<int64_t> all(25);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(order, all);
}

TEST_P(LoaderEitherWay, TheOrderIsAPureFunctionOfSeedAndEpoch) {
  const Dataset d = pattern_dataset(64, 1, 2, 2);
  Loader a(d, 16, true, 9, identity_norm(1), Augment{}, {}, GetParam()), b(d, 16, true, 9, identity_norm(1), Augment{}, {}, GetParam());
  Loader other(d, 16, true, 10, identity_norm(1), Augment{}, {}, GetParam());
  const auto a0 = order_of(epoch_batches(a, 0)), a1 = order_of(epoch_batches(a, 1)), a2 = order_of(epoch_batches(a, 2));
  // Visiting epochs in another order (as a resumed run does) changes nothing.
  EXPECT_EQ(order_of(epoch_batches(b, 2)), a2);
  EXPECT_EQ(order_of(epoch_batches(b, 0)), a0);
  EXPECT_EQ(order_of(epoch_batches(b, 1)), a1);
  EXPECT_NE(a0, a1);
  EXPECT_NE(a1, a2);
  EXPECT_NE(order_of(epoch_batches(other, 0)), a0);
}

TEST_P(LoaderEitherWay, StartEpochAndSkipGiveExactlyTheBatchesOfAnUninterruptedPass) {
  const Dataset d = pattern_dataset(90, 3, 8, 8);
  const Normalization norm{{0.4f, 0.5f, 0.6f}, {0.2f, 0.25f, 0.3f}};
  const Augment aug{2, true, 3};
  Loader ref(d, 16, true, 3, norm, aug, {}, GetParam());
  std::vector<std::vector<Taken>> full;
  for (int64_t e = 0; e < 3; ++e) full.push_back(epoch_batches(ref, e));
  ASSERT_EQ(full[1].size(), 6u);
  for (int64_t from : {1, 3, 5, 6}) {
    Loader resumed(d, 16, true, 3, norm, aug, {}, GetParam());  // a fresh process resuming at (epoch 1, batch `from`)
    const std::vector<Taken> rest = epoch_batches(resumed, 1, from);
    ASSERT_EQ(rest.size(), 6u - static_cast<size_t>(from));
    for (size_t k = 0; k < rest.size(); ++k) EXPECT_TRUE(rest[k] == full[1][static_cast<size_t>(from) + k]) << from << " " << k;
  }
  // Restarts while the worker is preparing the next batch: the prefetch is dropped, not handed out.
  Loader l(d, 16, true, 3, norm, aug, {}, GetParam());
  Batch b;
  l.start_epoch(2);
  ASSERT_TRUE(l.next(b));
  l.skip(2);  // the worker was busy with batch 1
  ASSERT_TRUE(l.next(b));
  EXPECT_TRUE(take(b) == full[2][3]);
  l.start_epoch(0);
  ASSERT_TRUE(l.next(b));
  EXPECT_TRUE(take(b) == full[0][0]);
  l.skip(5);  // to the very end: nothing left
  EXPECT_FALSE(l.next(b));
  EXPECT_THROW(l.skip(1), Error);
  l.start_epoch(0);
  EXPECT_THROW(l.skip(7), Error);
}

TEST_P(LoaderEitherWay, NormalisesEachChannelWithItsOwnMeanAndStd) {
  const Dataset d = pattern_dataset(5, 3, 2, 2);
  const Normalization norm{{0.1f, 0.5f, 0.9f}, {0.5f, 0.25f, 2.f}};
  Loader l(d, 5, false, 0, norm, Augment{}, {}, GetParam());
  Batch b;
  ASSERT_TRUE(l.next(b));
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t k = 0; k < 4; ++k) {
        const uint8_t p = d.sample_data(i)[c * 4 + k];
        EXPECT_NEAR(b.x[(i * 3 + c) * 4 + k], (p / 255.0 - norm.mean[static_cast<size_t>(c)]) / norm.std[static_cast<size_t>(c)], 1e-5);
      }
  EXPECT_EQ(b.x[0], normalised(d.sample_data(0)[0], 0.1f, 0.5f));
}

TEST_P(LoaderEitherWay, FlipMirrorsEachRowOfAboutHalfTheImages) {
  const Dataset d = pattern_dataset(200, 2, 3, 5);
  const Normalization norm = identity_norm(2);
  Loader l(d, 64, true, 1, norm, Augment{0, true, 0}, {}, GetParam());
  int flipped = 0, kept = 0;
  for (const auto& [i, x] : samples_of(epoch_batches(l, 0), 30)) {
    const std::vector<Real> plain = plain_sample(d, i, norm);
    std::vector<Real> mirrored = plain;
    for (int64_t r = 0; r < 6; ++r) std::reverse(mirrored.begin() + r * 5, mirrored.begin() + r * 5 + 5);
    ASSERT_NE(plain, mirrored);
    if (x == mirrored) ++flipped;
    else if (x == plain) ++kept;
    else ADD_FAILURE() << "sample " << i << " is neither itself nor its mirror image";
  }
  EXPECT_EQ(flipped + kept, 200);
  EXPECT_GT(flipped, 70);
  EXPECT_GT(kept, 70);
}

// The crop tests' check, on 2-channel 6x6 samples cropped with pad 2: each sample of an epoch
// shows exactly one offset (oy, ox) in [-2, 2]², output (c, y, x) being want(i, c, y + oy,
// x + ox) for sample i, and every offset occurs.
namespace {

template <class Want>
void expect_each_sample_one_crop(Loader& l, const Want& want) {
  std::set<std::pair<int64_t, int64_t>> shifts;
  for (const auto& [i, x] : samples_of(epoch_batches(l, 0), 72)) {
    int matches = 0;
    for (int64_t oy = -2; oy <= 2; ++oy)
      for (int64_t ox = -2; ox <= 2; ++ox) {
        bool same = true;
        for (int64_t c = 0; c < 2 && same; ++c)
          for (int64_t y = 0; y < 6 && same; ++y)
            for (int64_t xx = 0; xx < 6 && same; ++xx)
              same = x[static_cast<size_t>((c * 6 + y) * 6 + xx)] == want(i, c, y + oy, xx + ox);
        if (same) {
          ++matches;
          shifts.insert({oy, ox});
        }
      }
    EXPECT_EQ(matches, 1) << "sample " << i;
  }
  EXPECT_EQ(shifts.size(), 25u);  // every offset in [-2, 2]² occurs
}

}  // namespace

TEST_P(LoaderEitherWay, CropShiftsTheImageAndPadsWithBlack) {
  // Pixels 1..250 are never 0, so padding (pixel 0, normalised to (0 - 0.5) / 0.25 = -2) and
  // content cannot be confused, and each shift gives a different picture.
  Dataset d = pattern_dataset(300, 2, 6, 6);
  for (int64_t i = 0; i < 300; ++i)
    for (int64_t k = 0; k < 72; ++k) d.pixels[static_cast<size_t>(i * 72 + k)] = static_cast<uint8_t>(1 + (i + k * 3) % 250);
  const Normalization norm{{0.5f, 0.5f}, {0.25f, 0.25f}};
  Loader l(d, 100, true, 4, norm, Augment{2, false, 0}, {}, GetParam());
  expect_each_sample_one_crop(l, [&](int64_t i, int64_t c, int64_t sy, int64_t sx) {
    const bool inside = sy >= 0 && sy < 6 && sx >= 0 && sx < 6;
    return inside ? normalised(d.sample_data(i)[(c * 6 + sy) * 6 + sx], 0.5f, 0.25f) : Real(-2);
  });
}

// With crop_reflect the padding is the image mirrored at its edges (row -1 shows row 1, row 6
// row 4), never black; every offset still occurs, and a pad as wide as the image is refused.
TEST_P(LoaderEitherWay, CropWithReflectionPadsWithTheImageMirroredAtItsEdges) {
  Dataset d = pattern_dataset(300, 2, 6, 6);
  for (int64_t i = 0; i < 300; ++i)
    for (int64_t k = 0; k < 72; ++k) d.pixels[static_cast<size_t>(i * 72 + k)] = static_cast<uint8_t>(1 + (i + k * 3) % 250);
  const Normalization norm{{0.5f, 0.5f}, {0.25f, 0.25f}};
  Augment reflect{2, false, 0};
  reflect.crop_reflect = true;
  Loader l(d, 100, true, 4, norm, reflect, {}, GetParam());
  auto mirror = [](int64_t i) { return i < 0 ? -i : i > 5 ? 10 - i : i; };
  expect_each_sample_one_crop(l, [&](int64_t i, int64_t c, int64_t sy, int64_t sx) {
    return normalised(d.sample_data(i)[(c * 6 + mirror(sy)) * 6 + mirror(sx)], 0.5f, 0.25f);
  });
  for (const auto& [i, x] : samples_of(epoch_batches(l, 0), 72))
    EXPECT_EQ(std::count(x.begin(), x.end(), Real(-2)), 0) << "sample " << i << " shows black padding";
  Augment too_wide{6, false, 0};
  too_wide.crop_reflect = true;
  EXPECT_THROW(Loader(d, 4, true, 1, norm, too_wide), Error);
}

TEST_P(LoaderEitherWay, CutoutZerosOneSquareClippedAtTheBorders) {
  Dataset d = pattern_dataset(300, 3, 8, 8);
  for (auto& p : d.pixels) p = static_cast<uint8_t>(std::max<int>(p, 1));  // normalised values never 0
  const Normalization norm = identity_norm(3);
  Loader l(d, 128, true, 2, norm, Augment{0, false, 4}, {}, GetParam());
  int whole = 0, clipped = 0;
  for (const auto& [i, x] : samples_of(epoch_batches(l, 0), 192)) {
    const std::vector<Real> plain = plain_sample(d, i, norm);
    int64_t y0 = 8, y1 = -1, x0 = 8, x1 = -1;
    for (int64_t y = 0; y < 8; ++y)
      for (int64_t xx = 0; xx < 8; ++xx)
        if (x[static_cast<size_t>(y * 8 + xx)] == 0) {
          y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, xx), x1 = std::max(x1, xx);
        }
    ASSERT_GE(y1, 0) << "no cutout in sample " << i;
    const int64_t h = y1 - y0 + 1, w = x1 - x0 + 1;
    EXPECT_LE(h, 4);
    EXPECT_LE(w, 4);
    // The same square in every channel, everything else untouched.
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 8; ++y)
        for (int64_t xx = 0; xx < 8; ++xx) {
          const size_t k = static_cast<size_t>((c * 8 + y) * 8 + xx);
          const bool in = y >= y0 && y <= y1 && xx >= x0 && xx <= x1;
          ASSERT_EQ(x[k], in ? Real(0) : plain[k]) << "sample " << i << " c" << c << " y" << y << " x" << xx;
        }
    if (h == 4 && w == 4) ++whole;
    else {
      EXPECT_TRUE(y0 == 0 || y1 == 7 || x0 == 0 || x1 == 7) << "a smaller square away from the border";
      ++clipped;
    }
  }
  EXPECT_GT(whole, 50);
  EXPECT_GT(clipped, 50);
}

TEST_P(LoaderEitherWay, AugmentationIsDeterministicPerSeedAndEpoch) {
  const Dataset d = pattern_dataset(50, 3, 8, 8);
  const Normalization norm = identity_norm(3);
  const Augment aug{2, true, 3};
  Loader a(d, 50, false, 1, norm, aug, {}, GetParam()), b(d, 50, false, 1, norm, aug, {}, GetParam()), c(d, 50, false, 2, norm, aug, {}, GetParam());
  const std::vector<Taken> a0 = epoch_batches(a, 0);
  EXPECT_TRUE(a0 == epoch_batches(b, 0));
  EXPECT_FALSE(a0[0].x == epoch_batches(a, 1)[0].x);
  EXPECT_FALSE(a0[0].x == epoch_batches(c, 0)[0].x);
  EXPECT_TRUE(a0 == epoch_batches(a, 0));
  // No Augment (evaluation): plain normalised samples.
  Loader plain(d, 50, false, 1, norm, Augment{}, {}, GetParam());
  for (const auto& [i, x] : samples_of(epoch_batches(plain, 0), 192)) EXPECT_EQ(x, plain_sample(d, i, norm));
}

TEST_P(LoaderEitherWay, TheSteadyStateReusesTwoBuffers) {
  const Dataset d = pattern_dataset(100, 1, 4, 4);
  Loader l(d, 16, true, 1, identity_norm(1), Augment{1, true, 2}, {}, GetParam());
  std::set<const Real*> xs;
  std::set<const int32_t*> ys;
  std::set<const int64_t*> is;
  Batch b;
  for (int64_t e = 0; e < 4; ++e) {
    l.start_epoch(e);
    while (l.next(b)) {
      xs.insert(b.x.data());
      ys.insert(b.y.data());
      is.insert(b.index.data());
    }
  }
  // The caller's batch and the worker's, swapped back and forth; or the caller's alone, filled
  // in place. The short last batch fits.
  const size_t buffers = GetParam() == Prepare::worker ? 2 : 1;
  EXPECT_EQ(xs.size(), buffers);
  EXPECT_EQ(ys.size(), buffers);
  EXPECT_EQ(is.size(), buffers);
}

TEST(Loader, TheWorkerAndTheCallerGiveTheSameBatches) {
  const Dataset d = pattern_dataset(90, 3, 6, 5);
  const Normalization norm{{0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.3f}};
  const Augment aug{2, false, 3, /*alternate_flip=*/true, /*crop_reflect=*/true};
  Loader worker(d, 16, true, 4, norm, aug, {}, Prepare::worker), caller(d, 16, true, 4, norm, aug, {}, Prepare::caller);
  for (int64_t e = 0; e < 3; ++e) EXPECT_TRUE(epoch_batches(worker, e, e) == epoch_batches(caller, e, e)) << "epoch " << e;
}

// automatic: small batches (one-image inference) are prepared by next() itself, in the caller's
// one buffer; big ones by the worker, in two that swap.
TEST(Loader, AutomaticLeavesSmallBatchesToTheCaller) {
  for (const auto& [batch, image, buffers] : {std::tuple<int64_t, int64_t, size_t>{1, 28, 1}, {4, 32, 1}, {64, 32, 2}}) {
    const Dataset d = pattern_dataset(200, 3, image, image);
    Loader l(d, batch, true, 1, identity_norm(3), Augment{});
    std::set<const Real*> xs;
    Batch b;
    l.start_epoch(0);
    for (int k = 0; k < 3 && l.next(b); ++k) xs.insert(b.x.data());
    EXPECT_EQ(xs.size(), buffers) << "batch " << batch << " of " << image << "x" << image;
  }
}

TEST_P(LoaderEitherWay, AnErrorInTheWorkerSurfacesInNext) {
  Dataset d = pattern_dataset(20, 1, 2, 2);
  Loader l(d, 8, true, 1, identity_norm(1), Augment{}, {}, GetParam());
  d.pixels.resize(10);  // the loader holds d by reference: this breaks its invariant
  Batch b;
  for (int attempt = 0; attempt < 2; ++attempt) {  // a later call retries the batch
    try {
      l.next(b);
      ADD_FAILURE() << "no error";
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find("the dataset changed while a Loader was reading it"), std::string::npos) << e.what();
    }
  }
  d.pixels.resize(80);
  EXPECT_TRUE(l.next(b));
  EXPECT_EQ(b.index.size(), 8u);
}

TEST(Loader, RejectsBadArgumentsWithErrors) {
  const Dataset d = pattern_dataset(10, 3, 4, 4);
  const Normalization norm = identity_norm(3);
  EXPECT_THROW(Loader(d, 0, true, 1, norm, Augment{}), Error);
  EXPECT_THROW(Loader(d, 4, true, 1, identity_norm(1), Augment{}), Error);
  EXPECT_THROW(Loader(d, 4, true, 1, Normalization{{0, 0, 0}, {1, 0, 1}}, Augment{}), Error);
  EXPECT_THROW(Loader(d, 4, true, 1, norm, Augment{-1, false, 0}), Error);
  Dataset flat = d;
  flat.sample = Shape{3, 16};
  EXPECT_NO_THROW(Loader(flat, 4, true, 1, norm, Augment{}));
  EXPECT_THROW(Loader(flat, 4, true, 1, norm, Augment{0, true, 0}), Error);
  Loader l(d, 4, true, 1, norm, Augment{});
  EXPECT_THROW(l.start_epoch(-1), Error);
}

TEST_P(LoaderEitherWay, AnEmptyDatasetHasNoBatches) {
  Dataset d = pattern_dataset(0, 1, 2, 2);
  Loader l(d, 4, true, 1, identity_norm(1), Augment{}, {}, GetParam());
  EXPECT_EQ(l.batches_per_epoch(), 0);
  Batch b;
  l.start_epoch(0);
  EXPECT_FALSE(l.next(b));
}

TEST_P(LoaderEitherWay, RestartsAtRandomWhileTheWorkerIsBusyStayExact) {
  // Big batches, and the caller jumps around right after each next(), so the worker is usually
  // mid-batch when start_epoch / skip drop its work. A batch is recognised by its indices and a
  // sample of its values (cheap to take, so the caller does not give the worker time to finish).
  const Dataset d = pattern_dataset(1200, 3, 32, 32);
  const Normalization norm{{0.5f, 0.4f, 0.3f}, {0.2f, 0.2f, 0.2f}};
  const Augment aug{4, true, 8};
  using Sig = std::pair<std::vector<int64_t>, std::vector<Real>>;
  auto sig = [](const Batch& b) {
    Sig s{b.index, {}};
    for (int64_t k = 0; k < b.x.numel(); k += 331) s.second.push_back(b.x[k]);
    return s;
  };
  Loader ref(d, 200, true, 8, norm, aug, {}, GetParam());
  std::vector<std::vector<Sig>> full(3);
  Batch b;
  for (int64_t e = 0; e < 3; ++e) {
    ref.start_epoch(e);
    while (ref.next(b)) full[static_cast<size_t>(e)].push_back(sig(b));
  }
  Loader l(d, 200, true, 8, norm, aug, {}, GetParam());
  Rng rng(123);
  struct Seen {
    int64_t epoch, pos;
    Sig s;
  };
  std::vector<Seen> seen;
  int64_t epoch = 0, pos = 0;
  l.start_epoch(0);
  for (int step = 0; step < 150; ++step) {
    // A random pause lets the worker get to any point of its batch before the next call.
    std::this_thread::sleep_for(std::chrono::microseconds(rng.below(400)));
    const uint64_t what = rng.below(5);
    if (what == 0) {
      epoch = static_cast<int64_t>(rng.below(3));
      pos = 0;
      l.start_epoch(epoch);
    } else if (what == 1 && pos < 6) {
      const auto k = static_cast<int64_t>(rng.below(static_cast<uint64_t>(6 - pos + 1)));
      l.skip(k);
      pos += k;
    } else if (l.next(b)) {
      ASSERT_LT(pos, 6);
      seen.push_back({epoch, pos++, sig(b)});
    } else {
      ASSERT_EQ(pos, 6);
    }
  }
  EXPECT_GT(seen.size(), 30u);
  for (const Seen& s : seen)
    EXPECT_TRUE(s.s == full[static_cast<size_t>(s.epoch)][static_cast<size_t>(s.pos)]) << "epoch " << s.epoch << " batch " << s.pos;
}

TEST_P(LoaderEitherWay, IsDestroyedCleanlyAtAnyPoint) {
  const Dataset d = pattern_dataset(300, 3, 16, 16);
  const Normalization norm = identity_norm(3);
  for (int k = 0; k < 30; ++k) {
    Loader l(d, 150, true, 1, norm, Augment{2, true, 4}, {}, GetParam());
    Batch b;
    if (k % 3 >= 1) l.start_epoch(k);  // the worker is now busy with batch 0
    if (k % 3 == 2) l.next(b);         // ... or with batch 1
  }
}

// Float samples (the Python module's arrays) reach the batch exactly as given, in the same
// seeded order as 8-bit ones; augmentation is refused for them.
TEST_P(LoaderEitherWay, FloatSamplesAreCopiedAsGivenInTheSameOrder) {
  Dataset bytes;
  bytes.source = "bytes";
  bytes.sample = Shape{3};
  bytes.class_names = {"a", "b"};
  Dataset floats = bytes;
  floats.source = "floats";
  floats.floats = true;
  for (int i = 0; i < 10; ++i) {
    bytes.labels.push_back(i % 2);
    for (int k = 0; k < 3; ++k) {
      bytes.pixels.push_back(static_cast<uint8_t>(i * 20 + k));
      floats.values.push_back(static_cast<float>((i * 20 + k) / 255.0));
    }
  }
  floats.labels = bytes.labels;
  Loader lb(bytes, 4, true, 7, identity_norm(3), Augment{}, {}, GetParam()), lf(floats, 4, true, 7, Normalization{}, Augment{}, {}, GetParam());
  const auto b = epoch_batches(lb, 2), f = epoch_batches(lf, 2);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(b, f);
  floats.values[0] = -3.5f;  // not normalised, not clipped
  Loader one(floats, 10, false, 0, Normalization{}, Augment{}, {}, GetParam());
  Batch batch;
  ASSERT_TRUE(one.next(batch));
  EXPECT_EQ(batch.x[0], Real(-3.5));
  Augment flip;
  flip.hflip = true;
  EXPECT_THROW(Loader(floats, 4, true, 7, Normalization{}, flip), Error);
}

// Alternating flips: each image shows one side in even epochs and the other in odd ones, the
// side of epoch 0 a seeded coin per image (about half flipped), independent of the order the
// shuffle puts it in; the coin changes with the seed.
TEST_P(LoaderEitherWay, AlternateFlipShowsEachImageBothWaysInTwoEpochs) {
  const Dataset d = pattern_dataset(200, 2, 3, 5);
  const Normalization norm = identity_norm(2);
  const int64_t S = d.sample.numel(), W = 5;
  auto mirrored = [&](std::vector<Real> v) {
    for (int64_t r = 0; r < S / W; ++r) std::reverse(v.begin() + r * W, v.begin() + (r + 1) * W);
    return v;
  };
  // flipped[epoch][index]
  auto sides = [&](uint64_t seed) {
    Augment a;
    a.alternate_flip = true;
    Loader l(d, 64, true, seed, norm, a, {}, GetParam());
    std::vector<std::vector<int>> flipped(4, std::vector<int>(200, -1));
    for (int64_t e = 0; e < 4; ++e)
      for (const auto& [i, v] : samples_of(epoch_batches(l, e), S)) {
        const std::vector<Real> plain = plain_sample(d, i, norm);
        EXPECT_TRUE(v == plain || v == mirrored(plain)) << "image " << i << " is neither itself nor its mirror";
        flipped[static_cast<size_t>(e)][static_cast<size_t>(i)] = v == plain ? 0 : 1;
      }
    return flipped;
  };
  const auto f = sides(5);
  int first = 0;
  for (size_t i = 0; i < 200; ++i) {
    first += f[0][i];
    EXPECT_NE(f[0][i], f[1][i]) << i;
    EXPECT_EQ(f[0][i], f[2][i]) << i;
    EXPECT_NE(f[2][i], f[3][i]) << i;
  }
  EXPECT_GT(first, 70);
  EXPECT_LT(first, 130);
  EXPECT_NE(sides(6)[0], f[0]);
}
