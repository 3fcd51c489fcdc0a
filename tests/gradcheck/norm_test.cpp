// Gradient checks (double precision build) of batch normalisation and dropout, and the
// planted bug the batch-statistics check must catch.
#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck/gradcheck.h"
#include "layers/batchnorm.h"
#include "layers/dropout.h"

using namespace kiln;

static const Pass kTrain{Mode::train, 7, 3};
static const Pass kEval{Mode::eval, 7, 3};

// γ, β away from their init (1, 0), so a gradient that forgets γ or β shows.
static void set_affine(BatchNorm& bn) {
  auto p = bn.params();
  Tensor& g = *p[0].value;
  Tensor& b = *p[1].value;
  for (int64_t i = 0; i < g.numel(); ++i) {
    g[i] = static_cast<Real>(0.5 + 0.3 * static_cast<double>(i));
    b[i] = static_cast<Real>(0.2 - 0.15 * static_cast<double>(i));
  }
}

// A few training forwards on shifted, scaled inputs: running statistics away from (0, 1).
static void warm_running_stats(BatchNorm& bn, const Shape& in) {
  Rng rng(11);
  Tensor x(in), y(in);
  for (int step = 0; step < 3; ++step) {
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-2, 3));
    bn.forward(x, y, {Mode::train, 1, step});
  }
  auto b = bn.buffers();
  for (int64_t c = 0; c < b[0].value->numel(); ++c) {
    EXPECT_NE((*b[0].value)[c], Real(0));
    EXPECT_NE((*b[1].value)[c], Real(1));
  }
}

TEST(GradCheckNorm, BatchNormTrain2D) {
  BatchNorm bn(5);
  set_affine(bn);
  auto r = check_layer(bn, {6, 5}, kTrain);
  EXPECT_TRUE(r.ok) << r.report();
  EXPECT_EQ(r.checked, 6 * 5 + 5 + 5);
}

TEST(GradCheckNorm, BatchNormTrain4D) {
  BatchNorm bn(3);
  set_affine(bn);
  auto r = check_layer(bn, {2, 3, 3, 4}, kTrain);
  EXPECT_TRUE(r.ok) << r.report();
}

TEST(GradCheckNorm, BatchNormTrain4DBatchOne) {  // M = H·W > 1 even with N = 1
  BatchNorm bn(2, Real(0.2), Real(1e-3));
  set_affine(bn);
  auto r = check_layer(bn, {1, 2, 3, 3}, kTrain);
  EXPECT_TRUE(r.ok) << r.report();
}

TEST(GradCheckNorm, BatchNormEval2D) {
  BatchNorm bn(4);
  set_affine(bn);
  warm_running_stats(bn, {8, 4});
  auto r = check_layer(bn, {5, 4}, kEval);
  EXPECT_TRUE(r.ok) << r.report();
}

TEST(GradCheckNorm, BatchNormEval4D) {
  BatchNorm bn(3);
  set_affine(bn);
  warm_running_stats(bn, {2, 3, 4, 4});
  auto r = check_layer(bn, {2, 3, 2, 3}, kEval);
  EXPECT_TRUE(r.ok) << r.report();
}

TEST(GradCheckNorm, DropoutTrain) {
  Dropout d(Real(0.4), 2);
  auto r = check_layer(d, {4, 3, 2, 2}, kTrain);
  EXPECT_TRUE(r.ok) << r.report();
}

TEST(GradCheckNorm, DropoutEval) {
  Dropout d(Real(0.4), 2);
  auto r = check_layer(d, {4, 7}, kEval);
  EXPECT_TRUE(r.ok) << r.report();
}

// Planted bug: a batch norm whose backward treats the batch μ and σ as constants, i.e. uses
// the eval formula dx = γ rstd dy in training (parameter gradients are right).
class ConstantStatsBatchNorm : public BatchNorm {
 public:
  using BatchNorm::BatchNorm;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override {
    BatchNorm::backward(x, y, dy, nullptr);
    const Tensor& gamma = *params()[0].value;
    const int64_t N = x.dim(0), F = x.dim(1);
    for (int64_t j = 0; j < F; ++j) {
      double mu = 0, var = 0;
      for (int64_t n = 0; n < N; ++n) mu += x[n * F + j];
      mu /= static_cast<double>(N);
      for (int64_t n = 0; n < N; ++n) var += (x[n * F + j] - mu) * (x[n * F + j] - mu);
      var /= static_cast<double>(N);
      const double rstd = 1 / std::sqrt(var + 1e-5);
      for (int64_t n = 0; n < N; ++n) (*dx)[n * F + j] = static_cast<Real>(gamma[j] * rstd * dy[n * F + j]);
    }
  }
};

TEST(GradCheckCatches, BatchNormBackwardWithoutMeanTerms) {
  ConstantStatsBatchNorm bn(4);
  set_affine(bn);
  auto r = check_layer(bn, {6, 4}, kTrain);
  EXPECT_FALSE(r.ok) << "the planted bug went unnoticed: " << r.report();
  EXPECT_NE(r.worst.find("input"), std::string::npos) << r.worst;  // dγ, dβ are right; dx is not
}
