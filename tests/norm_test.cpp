// Batch normalisation and dropout (float build): fast kernels against the naive references on
// random shapes, the running-statistics update, eval mode, and the dropout mask's statistics
// and reproducibility.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "backend/cpu/dropout.h"
#include "backend/cpu/norm.h"
#include "layers/batchnorm.h"
#include "layers/dropout.h"
#include "model/build.h"

using namespace kiln;

namespace {

std::vector<Real> random_vec(int64_t n, Rng& rng, double lo, double hi) {
  std::vector<Real> v(static_cast<size_t>(n));
  for (auto& e : v) e = static_cast<Real>(rng.uniform(lo, hi));
  return v;
}

void expect_close(const std::vector<Real>& got, const std::vector<Real>& ref, double tol, double eps,
                  const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_LE(std::abs(double(got[i]) - ref[i]), tol + std::abs(double(ref[i])) * eps) << what << " at " << i;
}

struct NCS {
  int64_t N, C, S;
};

// Odd sizes, batch 1 of a 4-D input (M = H·W), (N, F) inputs wider than one feature block,
// and one large enough to take the threaded paths.
const std::vector<NCS> kShapes{{5, 3, 7}, {1, 4, 15}, {2, 17, 9 * 11}, {7, 1, 1},   {3, 13, 1},
                               {33, 300, 1}, {2, 5, 1}, {8, 64, 16 * 16}, {300, 260, 1}};

}  // namespace

TEST(BatchNormKernels, FastMatchesNaive) {
  Rng rng(42);
  for (const auto& [N, C, S] : kShapes) {
    const std::string what = "(" + std::to_string(N) + ", " + std::to_string(C) + ", " + std::to_string(S) + ")";
    const int64_t n = N * C * S;
    // A large offset per channel: two-pass statistics must not lose the variance to it.
    auto x = random_vec(n, rng, -1, 1);
    for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] += static_cast<Real>(20 * ((i / S) % C));
    auto dy = random_vec(n, rng, -1, 1);
    auto gamma = random_vec(C, rng, 0.5, 1.5), beta = random_vec(C, rng, -1, 1);
    auto rm = random_vec(C, rng, -1, 1), rv = random_vec(C, rng, 0.5, 2);
    const Real eps = Real(1e-5);

    std::vector<Real> y(n), mean(C), var(C), rstd(C), y0(n), mean0(C), var0(C), rstd0(C);
    cpu::batchnorm_forward_train(x.data(), gamma.data(), beta.data(), N, C, S, eps, y.data(), mean.data(), var.data(),
                                 rstd.data());
    cpu::batchnorm_forward_train_naive(x.data(), gamma.data(), beta.data(), N, C, S, eps, y0.data(), mean0.data(),
                                       var0.data(), rstd0.data());
    expect_close(mean, mean0, 1e-5, 1e-6, "mean " + what);
    expect_close(var, var0, 1e-6, 1e-5, "var " + what);
    expect_close(rstd, rstd0, 1e-6, 1e-5, "rstd " + what);
    expect_close(y, y0, 1e-5, 1e-5, "train y " + what);

    for (bool batch_stats : {true, false}) {
      std::vector<Real> dx(n), dg(C, Real(0.5)), db(C, Real(-0.5)), dx0(n), dg0(C, Real(0.5)), db0(C, Real(-0.5));
      cpu::batchnorm_backward(x.data(), dy.data(), mean.data(), rstd.data(), gamma.data(), N, C, S, batch_stats,
                              dx.data(), dg.data(), db.data());
      cpu::batchnorm_backward_naive(x.data(), dy.data(), mean.data(), rstd.data(), gamma.data(), N, C, S,
                                    batch_stats, dx0.data(), dg0.data(), db0.data());
      const std::string b = batch_stats ? " (batch stats) " : " (constant stats) ";
      expect_close(dx, dx0, 1e-5, 1e-4, "dx" + b + what);
      expect_close(dg, dg0, 1e-3, 1e-4, "dgamma" + b + what);
      expect_close(db, db0, 1e-3, 1e-4, "dbeta" + b + what);
      // dx may be null: the parameter gradients still accumulate.
      std::vector<Real> dg1(C, Real(0.5)), db1(C, Real(-0.5));
      cpu::batchnorm_backward(x.data(), dy.data(), mean.data(), rstd.data(), gamma.data(), N, C, S, batch_stats,
                              nullptr, dg1.data(), db1.data());
      expect_close(dg1, dg, 0, 0, "dgamma without dx" + b + what);
    }

    cpu::batchnorm_forward_eval(x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), N, C, S, eps, y.data(),
                                rstd.data());
    cpu::batchnorm_forward_eval_naive(x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), N, C, S, eps,
                                      y0.data(), rstd0.data());
    expect_close(rstd, rstd0, 1e-6, 1e-6, "eval rstd " + what);
    expect_close(y, y0, 1e-5, 1e-5, "eval y " + what);
  }
}

TEST(BatchNormKernels, TrainOutputIsNormalised) {
  Rng rng(1);
  const int64_t N = 6, C = 3, S = 10;
  auto x = random_vec(N * C * S, rng, 5, 9);
  std::vector<Real> gamma(C, 1), beta(C, 0), y(x.size()), mean(C), var(C), rstd(C);
  cpu::batchnorm_forward_train(x.data(), gamma.data(), beta.data(), N, C, S, Real(1e-5), y.data(), mean.data(),
                               var.data(), rstd.data());
  for (int64_t c = 0; c < C; ++c) {
    double s = 0, q = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const double v = y[static_cast<size_t>((n * C + c) * S + i)];
        s += v;
        q += v * v;
      }
    EXPECT_NEAR(s / (N * S), 0, 1e-5);
    EXPECT_NEAR(q / (N * S), 1, 1e-3);  // 1 - eps·rstd²
  }
}

TEST(BatchNorm, RunningStatsAfterTwoSteps) {
  const int64_t N = 4, C = 3, H = 2, W = 3, M = N * H * W;
  const double momentum = 0.25;
  BatchNorm bn(C, Real(momentum));
  EXPECT_EQ(bn.spec(), "bn momentum=0.25");
  Rng rng(3);
  std::vector<double> rm(C, 0), rv(C, 1);  // the documented init
  Tensor x({N, C, H, W}), y({N, C, H, W});
  for (int step = 0; step < 2; ++step) {
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 3) * (1 + step));
    bn.forward(x, y, {Mode::train, 0, step});
    for (int64_t c = 0; c < C; ++c) {
      double mu = 0, q = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < H * W; ++i) mu += x[(n * C + c) * H * W + i];
      mu /= M;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < H * W; ++i) q += std::pow(x[(n * C + c) * H * W + i] - mu, 2);
      rm[c] = (1 - momentum) * rm[c] + momentum * mu;
      rv[c] = (1 - momentum) * rv[c] + momentum * q / (M - 1);  // unbiased
    }
  }
  auto b = bn.buffers();
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].name, "running_mean");
  EXPECT_EQ(b[1].name, "running_var");
  for (int64_t c = 0; c < C; ++c) {
    EXPECT_NEAR((*b[0].value)[c], rm[c], 1e-5);
    EXPECT_NEAR((*b[1].value)[c], rv[c], 1e-5);
  }
}

TEST(BatchNorm, EvalUsesRunningStats) {
  const int64_t N = 3, F = 4;
  BatchNorm bn(F);
  Rng init(1);
  bn.init(init);
  auto p = bn.params();
  auto b = bn.buffers();
  for (int64_t j = 0; j < F; ++j) {
    (*p[0].value)[j] = static_cast<Real>(1 + j);       // gamma
    (*p[1].value)[j] = static_cast<Real>(0.5 * j);     // beta
    (*b[0].value)[j] = static_cast<Real>(j - 1);       // running mean
    (*b[1].value)[j] = static_cast<Real>(0.5 + j);     // running var
  }
  Tensor x({N, F}), y({N, F}), dy({N, F}), dx({N, F});
  Rng rng(2);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-2, 2));
  for (int64_t i = 0; i < dy.numel(); ++i) dy[i] = static_cast<Real>(rng.uniform(-1, 1));
  bn.forward(x, y, {Mode::eval, 0, 0});
  bn.backward(x, y, dy, &dx);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < F; ++j) {
      const double r = 1 / std::sqrt(0.5 + j + 1e-5);
      EXPECT_NEAR(y[n * F + j], (1 + j) * (x[n * F + j] - (j - 1)) * r + 0.5 * j, 1e-5);
      EXPECT_NEAR(dx[n * F + j], (1 + j) * r * dy[n * F + j], 1e-5);
    }
  // Eval forwards leave the running statistics alone.
  EXPECT_EQ((*b[0].value)[2], Real(1));
  EXPECT_EQ((*b[1].value)[2], Real(2.5));
}

TEST(BatchNorm, ShapeErrorsAndSpec) {
  BatchNorm bn(3);
  EXPECT_EQ(bn.spec(), "bn");
  EXPECT_EQ(BatchNorm(3, Real(0.1), Real(1e-3)).spec(), "bn eps=0.001");
  EXPECT_EQ(bn.output_shape({5, 3}), Shape({5, 3}));
  EXPECT_EQ(bn.output_shape({2, 3, 4, 4}), Shape({2, 3, 4, 4}));
  EXPECT_THROW(bn.output_shape({5, 4}), Error);
  EXPECT_THROW(bn.output_shape({2, 4, 4, 4}), Error);
  EXPECT_THROW(bn.output_shape({2, 3, 4}), Error);
  EXPECT_THROW(bn.output_shape({3}), Error);
  // One value per channel has no variance: an error in training, fine in eval.
  Tensor x({1, 3}), y({1, 3});
  EXPECT_THROW(bn.forward(x, y, {Mode::train, 0, 0}), Error);
  EXPECT_NO_THROW(bn.forward(x, y, {Mode::eval, 0, 0}));
  Tensor x4({1, 3, 1, 1}), y4({1, 3, 1, 1});
  EXPECT_THROW(bn.forward(x4, y4, {Mode::train, 0, 0}), Error);
  auto params = bn.params();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].name, "gamma");
  EXPECT_EQ(params[1].name, "beta");
  EXPECT_FALSE(params[0].decay);
  EXPECT_FALSE(params[1].decay);
}

// bn scale=false (airbench's BatchNorm): γ fixed at 1, a buffer the optimizer never sees;
// β still trained and tagged for the normalisation group.
TEST(BatchNorm, FixedScaleIsABufferNotAParameter) {
  Model m = build_model(Shape{3, 4, 4}, {"bn momentum=0.4 eps=1e-12 scale=false"}, 1);
  EXPECT_EQ(m.param_count(), 3);  // β only
  EXPECT_EQ(m.net()[0].spec(), "bn momentum=0.4 eps=1e-12 scale=false");
  BatchNorm bn(3, Real(0.1), Real(1e-5), /*trained_scale=*/false);
  auto p = bn.params();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].name, "beta");
  EXPECT_TRUE(p[0].norm);
  auto b = bn.buffers();
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].name, "gamma");
  EXPECT_FALSE(b[0].running);  // constant: nothing for the weight EMA to average
  Tensor x({4, 3, 2, 2}), y(x.shape()), dy(x.shape()), dx(x.shape());
  Rng rng(4);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 2)), dy[i] = static_cast<Real>(rng.uniform(-1, 1));
  bn.forward(x, y, {Mode::train, 0, 0});
  bn.backward(x, y, dy, &dx);
  for (int64_t c = 0; c < 3; ++c) EXPECT_EQ((*b[0].value)[c], Real(1));
}

namespace {

Tensor ones(const Shape& s) {
  Tensor t(s);
  t.fill(1);
  return t;
}

Tensor dropout_out(Dropout& d, const Tensor& x, const Pass& pass) {
  Tensor y(x.shape());
  d.forward(x, y, pass);
  return y;
}

}  // namespace

TEST(Dropout, MaskStatistics) {
  const double p = 0.3;
  Dropout d(Real(p), 0);
  EXPECT_EQ(d.spec(), "dropout 0.3");
  EXPECT_EQ(Dropout(Real(0.5), 1).spec(), "dropout 0.5");
  const Tensor x = ones({64, 4096});
  const Tensor y = dropout_out(d, x, {Mode::train, 17, 5});
  int64_t zeros = 0;
  double sum = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    if (y[i] == 0)
      ++zeros;
    else
      EXPECT_NEAR(y[i], 1 / (1 - p), 1e-6);
    sum += y[i];
  }
  const double n = static_cast<double>(y.numel());
  // 262144 draws: the standard deviation of the zero fraction is ~0.0009.
  EXPECT_NEAR(zeros / n, p, 0.005);
  EXPECT_NEAR(sum / n, 1.0, 0.01);
}

TEST(Dropout, MaskDependsOnlyOnSeedStreamStep) {
  Dropout a(Real(0.5), 3), b(Real(0.5), 3), other_stream(Real(0.5), 4);
  Rng rng(1);
  Tensor x({10, 37});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(0.5, 1.5));  // never 0
  const Tensor y1 = dropout_out(a, x, {Mode::train, 9, 100});
  const Tensor y2 = dropout_out(b, x, {Mode::train, 9, 100});
  const Tensor y3 = dropout_out(a, x, {Mode::train, 9, 101});
  const Tensor y4 = dropout_out(other_stream, x, {Mode::train, 9, 100});
  const Tensor y5 = dropout_out(a, x, {Mode::train, 10, 100});
  int64_t diff_step = 0, diff_stream = 0, diff_seed = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    EXPECT_EQ(y1[i], y2[i]) << i;
    diff_step += (y1[i] == 0) != (y3[i] == 0);
    diff_stream += (y1[i] == 0) != (y4[i] == 0);
    diff_seed += (y1[i] == 0) != (y5[i] == 0);
  }
  // Independent masks disagree on about half of the 370 elements.
  EXPECT_GT(diff_step, 120);
  EXPECT_GT(diff_stream, 120);
  EXPECT_GT(diff_seed, 120);
}

// The kernel inlines the hash; the mask must stay the documented function of hash_uniform.
TEST(Dropout, MaskIsHashUniformOfSeedStreamStepIndex) {
  const int64_t n = 1000;
  const Real p = Real(0.35);
  for (int64_t step : {int64_t(0), int64_t(7), int64_t(123456789)}) {
    std::vector<Real> scale(n);
    cpu::dropout_mask(42, 5, step, p, scale.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double u = hash_uniform(42, 5, (static_cast<uint64_t>(step) << 32) ^ static_cast<uint64_t>(i));
      ASSERT_EQ(scale[static_cast<size_t>(i)], u >= double(p) ? Real(1) / (1 - p) : Real(0)) << step << " " << i;
    }
  }
}

// A shard of a batch (rows k.. of it, Pass::first_sample = k) draws the rows of the whole
// batch's mask: data-parallel ranks drop what one process drops.
TEST(Dropout, AShardDrawsItsRowsOfTheWholeBatchMask) {
  Dropout d(Real(0.5), 3);
  const int64_t N = 6, F = 7, k = 4;
  const Tensor whole = dropout_out(d, ones({N, F}), {Mode::train, 11, 2});
  Pass shard_pass{Mode::train, 11, 2};
  shard_pass.first_sample = k;
  const Tensor shard = dropout_out(d, ones({N - k, F}), shard_pass);
  for (int64_t i = 0; i < (N - k) * F; ++i) ASSERT_EQ(shard[i], whole[k * F + i]) << i;
  // ... and is not simply the start of the mask (the test would pass with first_sample ignored).
  int64_t differ = 0;
  for (int64_t i = 0; i < (N - k) * F; ++i) differ += shard[i] != whole[i];
  EXPECT_GT(differ, 0);
}

TEST(Dropout, BackwardUsesTheForwardMask) {
  Dropout d(Real(0.25), 1);
  const Tensor x = ones({5, 11});
  Rng rng(4);
  Tensor dy({5, 11}), dx({5, 11});
  for (int64_t i = 0; i < dy.numel(); ++i) dy[i] = static_cast<Real>(rng.uniform(-1, 1));
  const Tensor y = dropout_out(d, x, {Mode::train, 2, 8});
  d.backward(x, y, dy, &dx);
  for (int64_t i = 0; i < dx.numel(); ++i) EXPECT_FLOAT_EQ(dx[i], dy[i] * y[i]);  // y = scale since x = 1
}

TEST(Dropout, EvalAndZeroProbabilityAreIdentity) {
  Rng rng(5);
  Tensor x({3, 2, 4, 4}), dy({3, 2, 4, 4}), dx({3, 2, 4, 4});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
  for (int64_t i = 0; i < dy.numel(); ++i) dy[i] = static_cast<Real>(rng.uniform(-1, 1));
  Dropout d(Real(0.5), 0), zero(Real(0), 0);
  // A training forward first: eval must not reuse its mask.
  dropout_out(d, x, {Mode::train, 1, 1});
  for (auto [layer, pass] : {std::pair<Dropout*, Pass>{&d, {Mode::eval, 1, 1}}, {&zero, {Mode::train, 1, 1}}}) {
    const Tensor y = dropout_out(*layer, x, pass);
    layer->backward(x, y, dy, &dx);
    for (int64_t i = 0; i < x.numel(); ++i) {
      EXPECT_EQ(y[i], x[i]);
      EXPECT_EQ(dx[i], dy[i]);
    }
  }
  EXPECT_THROW(Dropout(Real(1), 0), Error);
  EXPECT_THROW(Dropout(Real(-0.1), 0), Error);
}
