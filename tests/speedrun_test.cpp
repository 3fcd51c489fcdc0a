// The pieces of the CIFAR-10 speed-run recipe (configs/cifar10_speedrun.toml) that are not
// layers: test-time flips and translations, per-group optimizer settings for normalisation parameters, weight
// EMA. (GELU is in activation_test and the gradient checks; alternating flips in loader_test.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "data_files.h"
#include "loss/loss.h"
#include "model/build.h"
#include "optim/optimizer.h"
#include "train/evaluate.h"
#include "train/setup.h"
#include "train/step.h"
#include "layers/whiten.h"

using namespace kiln;
using namespace kiln::testing;

namespace {

Normalization identity_norm(int64_t C) {
  return {std::vector<float>(static_cast<size_t>(C), 0.f), std::vector<float>(static_cast<size_t>(C), 1.f)};
}

// d with every image's rows reversed.
Dataset mirrored(Dataset d) {
  const int64_t W = d.sample[2], S = d.sample.numel();
  for (int64_t i = 0; i < d.size(); ++i)
    for (int64_t r = 0; r < S / W; ++r) {
      auto row = d.pixels.begin() + i * S + r * W;
      std::reverse(row, row + W);
    }
  return d;
}

const std::vector<std::string> kNet = {"conv 4 3x3 pad=1", "gelu", "maxpool 2", "flatten", "dense 10"};

}  // namespace

// With flips the evaluation is the same on a dataset and on its mirror image (the mean of
// f(x) and f(mirror x) is symmetric in the two), where without them it is not; and its loss is
// the loss of the averaged logits computed by hand.
TEST(TestTimeFlip, AveragesTheLogitsOfEachImageAndItsMirror) {
  const Dataset d = pattern_dataset(37, 2, 6, 5), m = mirrored(d);
  Model model = build_model(Shape{2, 6, 5}, kNet, 4);
  auto loss = make_loss("softmax_xent");
  const Normalization norm = identity_norm(2);
  const Evaluation plain = evaluate(model, *loss, d, norm, 16, false), plain_m = evaluate(model, *loss, m, norm, 16, false);
  const Evaluation flip = evaluate(model, *loss, d, norm, 16, false, nullptr, {.flip = true}),
                   flip_m = evaluate(model, *loss, m, norm, 16, false, nullptr, {.flip = true});
  EXPECT_NE(plain.loss, plain_m.loss);
  EXPECT_EQ(flip.loss, flip_m.loss);
  EXPECT_EQ(flip.accuracy, flip_m.accuracy);

  Loader all(d, 37, false, 0, norm, Augment{});
  Batch b;
  ASSERT_TRUE(all.next(b));
  const Pass pass{Mode::eval, 0, 0, false};
  Tensor avg = model.forward(b.x, pass).clone(), mx;
  mirror_images(b.x, mx);
  const Tensor& other = model.forward(mx, pass);
  for (int64_t i = 0; i < avg.numel(); ++i) avg[i] = (avg[i] + other[i]) / 2;
  EXPECT_NEAR(flip.loss, loss->forward_backward(avg, Targets{b.y, nullptr}, nullptr), 1e-5);
  EXPECT_GT(std::abs(flip.loss - plain.loss), 1e-6);
}

TEST(TestTimeFlip, IsRefusedForInputsThatAreNotImages) {
  Dataset d;
  d.source = "flat";
  d.sample = Shape{6};
  d.class_names = {"a", "b"};
  d.pixels.assign(12, 7);
  d.labels = {0, 1};
  Model model = build_model(Shape{6}, {"dense 2"}, 1);
  auto loss = make_loss("softmax_xent");
  EXPECT_THROW(evaluate(model, *loss, d, identity_norm(1), 16, false, nullptr, {.flip = true}), Error);
  EXPECT_THROW(evaluate(model, *loss, d, identity_norm(1), 16, false, nullptr, {.translate = 1}), Error);
}

// Pixel (r, c) of a 3x4 image holds 10 r + c, so each output names the pixel it came from.
// Moved by (1, 1), row 0 and column 0 come from row 1 and column 1 (reflected, not the edge
// repeated); moved by (-1, -1), the last row and column come from row 1 and column 2.
TEST(TestTimeTranslate, MovesTheImageWithItsEdgesReflected) {
  Tensor x(Shape{1, 2, 3, 4});
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t c = 0; c < 4; ++c) x[(p * 3 + r) * 4 + c] = static_cast<Real>(100 * p + 10 * r + c);
  Tensor down, up;
  translate_images(x, 1, 1, down);
  translate_images(x, -1, -1, up);
  const std::vector<Real> want_down = {11, 10, 11, 12, 1, 0, 1, 2, 11, 10, 11, 12};
  const std::vector<Real> want_up = {11, 12, 13, 12, 21, 22, 23, 22, 11, 12, 13, 12};
  for (int64_t p = 0; p < 2; ++p)
    for (size_t i = 0; i < 12; ++i) {
      EXPECT_EQ(down[p * 12 + static_cast<int64_t>(i)], want_down[i] + 100 * p) << "plane " << p << " pixel " << i;
      EXPECT_EQ(up[p * 12 + static_cast<int64_t>(i)], want_up[i] + 100 * p) << "plane " << p << " pixel " << i;
    }
  Tensor same;
  translate_images(x, 0, 0, same);
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(same[i], x[i]);
}

// The loss of translated (and flipped) views is the loss of ½ f̄(x) + ¼ f̄(x moved by (1, 1))
// + ¼ f̄(x moved by (-1, -1)) computed by hand, f̄ the flip mean; it differs from flips alone.
TEST(TestTimeTranslate, AveragesHalfTheImageAndAQuarterOfEachMove) {
  const Dataset d = pattern_dataset(37, 2, 6, 5);
  Model model = build_model(Shape{2, 6, 5}, kNet, 4);
  auto loss = make_loss("softmax_xent");
  const Normalization norm = identity_norm(2);
  const Evaluation flip = evaluate(model, *loss, d, norm, 16, false, nullptr, {.flip = true});
  const Evaluation both = evaluate(model, *loss, d, norm, 16, false, nullptr, {.flip = true, .translate = 1});
  const Evaluation moved = evaluate(model, *loss, d, norm, 16, false, nullptr, {.translate = 1});

  Loader all(d, 37, false, 0, norm, Augment{});
  Batch b;
  ASSERT_TRUE(all.next(b));
  const Pass pass{Mode::eval, 0, 0, false};
  auto f = [&](const Tensor& x) { return model.forward(x, pass).clone(); };
  auto f_bar = [&](const Tensor& x) {
    Tensor a = f(x), mx;
    mirror_images(x, mx);
    const Tensor m = f(mx);
    for (int64_t i = 0; i < a.numel(); ++i) a[i] = (a[i] + m[i]) / 2;
    return a;
  };
  Tensor plus, minus;
  translate_images(b.x, 1, 1, plus);
  translate_images(b.x, -1, -1, minus);
  const Tensor c = f_bar(b.x), p = f_bar(plus), m = f_bar(minus);
  const Tensor c1 = f(b.x), p1 = f(plus), m1 = f(minus);
  Tensor want = c.clone(), want1 = c1.clone();
  for (int64_t i = 0; i < want.numel(); ++i) {
    want[i] = c[i] / 2 + p[i] / 4 + m[i] / 4;
    want1[i] = c1[i] / 2 + p1[i] / 4 + m1[i] / 4;
  }
  EXPECT_NEAR(both.loss, loss->forward_backward(want, Targets{b.y, nullptr}, nullptr), 1e-5);
  EXPECT_NEAR(moved.loss, loss->forward_backward(want1, Targets{b.y, nullptr}, nullptr), 1e-5);
  EXPECT_GT(std::abs(both.loss - flip.loss), 1e-6);
  EXPECT_GT(std::abs(both.loss - moved.loss), 1e-6);
}

// A move as large as the image has no reflection to take pixels from: refused, with the range.
TEST(TestTimeTranslate, IsRefusedForMovesAsLargeAsTheImage) {
  const Dataset d = pattern_dataset(8, 2, 6, 5);
  Model model = build_model(Shape{2, 6, 5}, kNet, 4);
  auto loss = make_loss("softmax_xent");
  EXPECT_NO_THROW(evaluate(model, *loss, d, identity_norm(2), 16, false, nullptr, {.translate = 4}));
  try {
    evaluate(model, *loss, d, identity_norm(2), 16, false, nullptr, {.translate = 5});
    FAIL() << "a move of 5 pixels on 6x5 images was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("allow 0 to 4"), std::string::npos) << e.what();
  }
}

// An experiment asking for a move its images cannot take is refused before training, naming
// the file and the largest move allowed.
TEST(TestTimeTranslate, AnExperimentMovingFurtherThanItsImagesIsRefused) {
  Experiment e;
  e.source = "speed.toml";
  e.layers = kNet;
  e.train.eval_translate = 5;
  try {
    build_model_for(e, Shape{2, 6, 5});
    FAIL() << "train.eval_translate = 5 on 6x5 images was accepted";
  } catch (const Error& err) {
    const std::string what = err.what();
    EXPECT_NE(what.find("speed.toml: train.eval_translate = 5"), std::string::npos) << what;
    EXPECT_NE(what.find("at most 4"), std::string::npos) << what;
  }
  e.train.eval_translate = 4;
  EXPECT_NO_THROW(build_model_for(e, Shape{2, 6, 5}));
}

// dirac=true: the first min(C, K) filters pass their input channel through unchanged, the
// others are the default init's (the same draws), and the option survives the layer's line.
TEST(DiracInit, TheFirstFiltersAreTheIdentityAndTheRestUnchanged) {
  const Shape in{4, 5, 5};
  Model dirac = build_model(in, {"conv 6 3x3 pad=1 bias=false dirac=true"}, 3);
  Model plain = build_model(in, {"conv 6 3x3 pad=1 bias=false"}, 3);
  Model narrow = build_model(in, {"conv 2 3x3 pad=1 bias=false dirac=true"}, 3);
  Tensor x(Shape{2, 4, 5, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(std::sin(0.7 * static_cast<double>(i)));
  const Pass pass{Mode::eval, 0, 0, false};
  const Tensor yd = dirac.forward(x, pass).clone(), yp = plain.forward(x, pass).clone(),
               yn = narrow.forward(x, pass).clone();
  const int64_t plane = 25;
  int64_t differs = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t k = 0; k < 6; ++k)
      for (int64_t j = 0; j < plane; ++j) {
        const Real d = yd[(n * 6 + k) * plane + j], p = yp[(n * 6 + k) * plane + j];
        if (k < 4) {
          EXPECT_EQ(d, x[(n * 4 + k) * plane + j]) << "sample " << n << " channel " << k << " pixel " << j;
          differs += d != p;
        } else {
          EXPECT_EQ(d, p) << "sample " << n << " channel " << k << " pixel " << j;
        }
        if (k < 2) {
          EXPECT_EQ(yn[(n * 2 + k) * plane + j], x[(n * 4 + k) * plane + j]);
        }
      }
  EXPECT_GT(differs, 0);  // the identity is not what the default init gives
  EXPECT_EQ(dirac.summary().front().spec, "conv 6 3x3 pad=1 bias=false dirac=true");
  EXPECT_EQ(plain.summary().front().spec, "conv 6 3x3 pad=1 bias=false");
}

// The layer tags its parameters; the spans follow the flat layout, normalisation shifts apart.
TEST(NormGroup, BatchNormParametersFormSpansOfTheirOwn) {
  Model model = build_model(Shape{2, 6, 6}, {"conv 3 3x3", "bn", "relu", "flatten", "dense 4"}, 2);
  const std::vector<ParamSpan> spans = param_spans(model);
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_FALSE(spans[0].norm);
  EXPECT_TRUE(spans[1].norm);
  EXPECT_EQ(spans[1].size, 3);  // β of 3 channels (γ lies with the conv before it)
  EXPECT_FALSE(spans[2].norm);
  EXPECT_EQ(spans[0].size + spans[1].size + spans[2].size, model.param_count());
  EXPECT_EQ(spans[1].begin, spans[0].size);
}

// Nesterov SGD with bn_lr_scale 4 and bn_weight_decay 0.1 over three steps: the other
// parameters move as with one plain optimizer; the normalisation shifts as with a plain
// optimizer at 4η whose decay λ = 0.1 reaches every entry.
TEST(NormGroup, BatchNormParametersTakeTheirOwnRateAndDecay) {
  Model model = build_model(Shape{2, 6, 6}, {"conv 3 3x3", "bn", "relu", "flatten", "dense 4"}, 2);
  const std::vector<ParamSpan> spans = param_spans(model);
  const int64_t n = model.param_count();
  OptimizerConfig c;
  c.momentum = 0.9;
  c.nesterov = true;
  c.weight_decay = 0.01;
  OptimizerConfig grouped = c;
  grouped.bn_lr_scale = 4;
  grouped.bn_weight_decay = 0.1;
  OptimizerConfig norm_like = c;
  norm_like.weight_decay = 0.1;
  auto opt = make_optimizer(grouped, n), plain = make_optimizer(c, n), fast = make_optimizer(norm_like, n);
  opt->set_param_spans(spans);
  Tensor theta = model.params().clone(), a = theta.clone(), b = theta.clone(), g({n}), ones({n});
  ones.fill(1);
  Rng rng(4);
  for (int step = 0; step < 3; ++step) {
    for (int64_t i = 0; i < n; ++i) g[i] = static_cast<Real>(rng.uniform(-1, 1));
    opt->step(theta, g, model.decay_mask(), 0.05);
    plain->step(a, g, model.decay_mask(), 0.05);
    fast->step(b, g, ones, 0.2);
  }
  int64_t moved_differently = 0;
  for (const ParamSpan& sp : spans)
    for (int64_t i = sp.begin; i < sp.begin + sp.size; ++i) {
      // Within rounding: a span's loop splits into vector body and scalar tail at other places
      // than the whole buffer's, and the compiler contracts them into FMAs differently.
      ASSERT_NEAR(theta[i], sp.norm ? b[i] : a[i], 1e-6 * (1 + std::abs(a[i]))) << i;
      moved_differently += std::abs(theta[i] - a[i]) > 1e-5;
    }
  EXPECT_EQ(moved_differently, 3);
  // Left at 1 and 0, the grouped optimizer is the plain one.
  auto same = make_optimizer(c, n);
  same->set_param_spans(spans);
  Tensor s = model.params().clone(), t = s.clone();
  same->step(s, g, model.decay_mask(), 0.05);
  make_optimizer(c, n)->step(t, g, model.decay_mask(), 0.05);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(s[i], t[i]);
}

// ê after t steps is Σ_k (1-β) β^{t-k} θ_k / (1 - βᵗ), the θ_k after each step, computed here
// from the recorded trajectory; without an EMA there is nothing to average.
TEST(WeightEma, IsTheBiasCorrectedMeanOfTheTrajectory) {
  OptimizerConfig c;
  c.momentum = 0.5;
  c.ema = 0.8;
  const int64_t n = 5;
  auto opt = make_optimizer(c, n);
  Tensor theta({n}), g({n}), mask({n}), out({n});
  mask.fill(1);
  EXPECT_FALSE(opt->averaged_into(out));
  std::vector<std::vector<double>> path;
  Rng rng(9);
  for (int t = 0; t < 4; ++t) {
    for (int64_t i = 0; i < n; ++i) g[i] = static_cast<Real>(rng.uniform(-1, 1));
    opt->step(theta, g, mask, 0.1);
    path.emplace_back(theta.data(), theta.data() + n);
  }
  ASSERT_TRUE(opt->averaged_into(out));
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (size_t k = 0; k < path.size(); ++k) sum += 0.2 * std::pow(0.8, 3 - static_cast<double>(k)) * path[k][static_cast<size_t>(i)];
    EXPECT_NEAR(out[i], sum / (1 - std::pow(0.8, 4)), 1e-6) << i;
    EXPECT_NE(out[i], theta[i]);
  }
  c.ema = 0;
  auto none = make_optimizer(c, n);
  none->step(theta, g, mask, 0.1);
  EXPECT_FALSE(none->averaged_into(out));
}

// The running statistics (batch norm's) are averaged like the weights: after t steps ŝ is
// Σ_k (1-β) β^{t-k} s_k / (1 - βᵗ), s_k the statistics after step k's forward pass, recorded
// here; the whitening filters, a buffer that is not a running statistic, are left out of it.
TEST(WeightEma, AveragesTheRunningStatisticsAlongsideTheWeights) {
  Model m = build_model(Shape{3, 8, 8}, {"whiten 2x2", "bn", "relu", "conv 4 3x3 pad=1", "bn", "gap", "dense 2"}, 5);
  ASSERT_EQ(m.running_stats().numel(), 2 * 24 + 2 * 4);  // whiten 2x2 on 3 channels: 24 filters
  int64_t running = 0;
  for (const auto& b : m.named_buffers()) running += b.running ? b.value.numel() : 0;
  EXPECT_EQ(running, m.running_stats().numel());
  Rng rng(4);
  Tensor x({16, 3, 8, 8});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
  m.init_from_data(x);  // the whitening filters
  auto loss = make_loss("softmax_xent");
  OptimizerConfig c;
  c.momentum = 0.9;
  c.ema = 0.7;
  auto opt = make_optimizer(c, m.param_count(), m.running_stats().numel());
  TrainStep step(m, *loss, *opt, 1);
  std::vector<std::vector<double>> path;
  for (int t = 0; t < 5; ++t) {
    Batch b;
    b.x = Tensor({8, 3, 8, 8});
    for (int64_t i = 0; i < b.x.numel(); ++i) b.x[i] = static_cast<Real>(rng.uniform(-1, 1) + t);  // statistics that move
    for (int i = 0; i < 8; ++i) b.y.push_back(i % 2);
    step.run(b, t, 0.05);
    const Tensor& s = m.running_stats();
    path.emplace_back(s.data(), s.data() + s.numel());
  }
  Tensor params = m.params().clone(), stats = m.running_stats().clone();
  ASSERT_TRUE(opt->averaged_into(params, &stats));
  int64_t differ = 0;
  for (int64_t i = 0; i < stats.numel(); ++i) {
    differ += stats[i] != m.running_stats()[i];
    double sum = 0;
    for (size_t k = 0; k < path.size(); ++k)
      sum += 0.3 * std::pow(0.7, 4 - static_cast<double>(k)) * path[k][static_cast<size_t>(i)];
    EXPECT_NEAR(stats[i], sum / (1 - std::pow(0.7, 5)), 1e-5 * (1 + std::abs(sum))) << i;
  }
  EXPECT_GT(differ, stats.numel() * 9 / 10);

  // A state saved before the statistics were averaged (e, no f) still loads; ŝ is then the
  // statistics loaded with the model, what such a run was evaluated with.
  auto old = make_optimizer(c, m.param_count());
  Tensor theta = m.params().clone(), g = m.grads().clone();
  old->step(theta, g, m.decay_mask(), 0.05);
  BinWriter w;
  old->save_state(w);
  TempDir dir;
  w.commit(dir / "old.state");
  auto resumed = make_optimizer(c, m.param_count(), m.running_stats().numel());
  BinReader r(dir / "old.state", "optimizer state");
  resumed->load_state(r, &m.running_stats());
  ASSERT_TRUE(resumed->averaged_into(params, &stats));
  for (int64_t i = 0; i < stats.numel(); ++i) EXPECT_NEAR(stats[i], m.running_stats()[i], 1e-6 * (1 + std::abs(stats[i]))) << i;
}

// Jacobi on Q D Qᵀ: the eigenpairs satisfy A v = λ v, with λ descending and v of unit length.
TEST(Whiten, SymmetricEigenFindsEveryEigenpair) {
  const int64_t d = 7;
  Rng rng(12);
  std::vector<double> a(d * d);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j <= i; ++j) a[static_cast<size_t>(i * d + j)] = a[static_cast<size_t>(j * d + i)] = rng.uniform(-1, 1);
  const std::vector<double> original = a;
  std::vector<double> values, vectors;
  symmetric_eigen(a, d, values, vectors);
  for (int64_t k = 0; k < d; ++k) {
    if (k > 0) {
      EXPECT_GE(values[static_cast<size_t>(k - 1)], values[static_cast<size_t>(k)]);
    }
    double norm = 0;
    for (int64_t i = 0; i < d; ++i) {
      double av = 0;
      for (int64_t j = 0; j < d; ++j) av += original[static_cast<size_t>(i * d + j)] * vectors[static_cast<size_t>(k * d + j)];
      EXPECT_NEAR(av, values[static_cast<size_t>(k)] * vectors[static_cast<size_t>(k * d + i)], 1e-10);
      norm += vectors[static_cast<size_t>(k * d + i)] * vectors[static_cast<size_t>(k * d + i)];
    }
    EXPECT_NEAR(norm, 1, 1e-12);
  }
}

// On images whose neighbouring pixels and channels are strongly correlated, the first d output
// channels of the whitened convolution have an identity second-moment matrix over the patches
// (up to λ/(λ+ε)); the other d are their negatives.
TEST(Whiten, OutputsHaveUnitCovariance) {
  const int64_t N = 40, C = 2, H = 9, W = 8;
  Rng rng(3);
  Tensor x({N, C, H, W});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h) {
      double run = 0;
      for (int64_t w = 0; w < W; ++w) {
        run = 0.8 * run + rng.uniform(-1, 1);
        const double other = rng.uniform(-0.3, 0.3);
        x[((n * C + 0) * H + h) * W + w] = static_cast<Real>(run);
        x[((n * C + 1) * H + h) * W + w] = static_cast<Real>(0.7 * run + other);
      }
    }
  Whiten wh(C, 2, 2, 1e-9);
  wh.init_from_data(x);
  Tensor y(wh.output_shape(x.shape()));
  wh.forward(x, y, Pass{});
  const int64_t d = C * 4, P = y.dim(2), Q = y.dim(3), M = N * P * Q;
  for (int64_t a = 0; a < d; ++a)
    for (int64_t b = 0; b < d; ++b) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < P * Q; ++i) s += double(y[(n * 2 * d + a) * P * Q + i]) * y[(n * 2 * d + b) * P * Q + i];
      EXPECT_NEAR(s / static_cast<double>(M), a == b ? 1.0 : 0.0, 1e-3) << a << "," << b;
    }
  for (int64_t i = 0; i < P * Q; ++i) EXPECT_EQ(y[d * P * Q + i], -y[i]);
}

// In a model the whitening filters are buffers: not among the parameters the optimizer moves,
// set by the model's data-dependent initialisation, kept by a training step, saved and loaded.
TEST(Whiten, IsFrozenAndSavedWithTheModel) {
  const std::vector<std::string> net = {"whiten 2x2", "gelu", "conv 4 3x3", "bn", "gelu", "gap", "dense 3"};
  Model m = build_model(Shape{3, 8, 8}, net, 5);
  EXPECT_TRUE(m.wants_data());
  EXPECT_FALSE(build_model(Shape{3, 8, 8}, {"conv 4 3x3", "gap", "dense 3"}, 5).wants_data());
  EXPECT_EQ(m.param_count(), 4 * 24 * 9 + 4 + 8 + 4 * 3 + 3);  // conv, its bias, bn γ β, dense: no whiten filters
  Rng rng(2);
  Tensor x({16, 3, 8, 8});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
  m.init_from_data(x);
  EXPECT_FALSE(m.wants_data());  // set once: a second fit keeps them
  const NamedTensor* filters = nullptr;
  for (const auto& b : m.named_buffers())
    if (b.name == "0.weight") filters = &b;
  ASSERT_NE(filters, nullptr);
  const Tensor before = filters->value.clone();
  double size = 0;
  for (int64_t i = 0; i < before.numel(); ++i) size += std::abs(before[i]);
  EXPECT_GT(size, 1);

  auto loss = make_loss("softmax_xent");
  OptimizerConfig c;
  c.momentum = 0.9;
  auto opt = make_optimizer(c, m.param_count());
  TrainStep step(m, *loss, *opt, 1);
  Batch b;
  b.x = x;
  b.y.assign(16, 1);
  const Tensor params_before = m.params().clone();
  step.run(b, 0, 0.1);
  bool moved = false;
  for (int64_t i = 0; i < m.param_count(); ++i) moved = moved || m.params()[i] != params_before[i];
  EXPECT_TRUE(moved);
  for (int64_t i = 0; i < before.numel(); ++i) ASSERT_EQ(filters->value[i], before[i]) << i;

  TempDir dir;
  m.save_weights(dir / "w.kiln");
  Model fresh = build_model(Shape{3, 8, 8}, net, 9);
  fresh.load_weights(dir / "w.kiln");
  for (const auto& fb : fresh.named_buffers()) {
    if (fb.name != "0.weight") continue;
    for (int64_t i = 0; i < before.numel(); ++i) ASSERT_EQ(fb.value[i], before[i]) << i;
  }
}
