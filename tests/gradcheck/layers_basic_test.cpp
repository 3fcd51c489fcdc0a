// Gradient checks (double precision build) of the dense layer, activations and losses, and
// the planted bugs they must catch.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/ops.h"
#include "gradcheck/gradcheck.h"
#include "layers/activation.h"
#include "layers/flatten.h"
#include "layers/dense.h"
#include "loss/loss.h"

using namespace kiln;

static const Pass kTrain{Mode::train, 1, 0};

static void keep_off_zero(Tensor& x) {
  // ReLU-like kinks at 0: keep inputs at least 0.05 away so central differences are exact.
  Rng rng(3);
  for (int64_t i = 0; i < x.numel(); ++i) {
    double v = rng.uniform(0.05, 1.0);
    x[i] = static_cast<Real>(rng.uniform() < 0.5 ? -v : v);
  }
}

TEST(GradCheck, Dense) {
  Dense d(7, 5);
  Rng rng(1);
  d.init(rng);
  auto r = check_layer(d, {4, 7}, kTrain);
  EXPECT_TRUE(r.ok) << r.report();
  EXPECT_EQ(r.checked, 4 * 7 + 5 * 7 + 5);
}

TEST(GradCheck, DenseOnImageInput) {
  Dense d(2 * 3 * 3, 4, false);
  Rng rng(1);
  d.init(rng);
  auto r = check_layer(d, {3, 2, 3, 3}, kTrain);
  EXPECT_TRUE(r.ok) << r.report();
}

TEST(GradCheck, Activations) {
  ReLU relu;
  LeakyReLU leaky(0.1);
  Tanh tanh_;
  Sigmoid sigmoid;
  GELU gelu;
  Scale scale(-0.37);
  Flatten flatten;
  for (Layer* l : std::initializer_list<Layer*>{&relu, &leaky, &tanh_, &sigmoid, &gelu, &scale, &flatten}) {
    auto r = check_layer(*l, {3, 2, 4, 4}, kTrain, {}, keep_off_zero);
    EXPECT_TRUE(r.ok) << l->spec() << ": " << r.report();
  }
}

TEST(GradCheck, SoftmaxCrossEntropy) {
  Rng rng(5);
  Tensor z({6, 4});
  for (int64_t i = 0; i < z.numel(); ++i) z[i] = static_cast<Real>(rng.uniform(-3, 3));
  std::vector<int32_t> y{0, 1, 2, 3, 1, 2};
  for (Real eps : {Real(0), Real(0.1)}) {
    SoftmaxCrossEntropy loss(eps);
    auto r = check_loss(loss, z, {y});
    EXPECT_TRUE(r.ok) << r.report();
  }
  MSE mse;
  auto r = check_loss(mse, z, {y});
  EXPECT_TRUE(r.ok) << r.report();
}

// A dense layer whose backward uses W^T where W belongs (dX = G W^T W... reshaped): the
// classic transposed-weight bug. With a square W it even has the right shape.
class TransposedDense : public Dense {
 public:
  using Dense::Dense;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override {
    Dense::backward(x, y, dy, nullptr);
    ops::matmul(false, true, Real(1), dy, weight_, Real(0), *dx);  // bug: should be G W
  }
};

TEST(GradCheckCatches, TransposedWeightInDenseBackward) {
  TransposedDense d(6, 6);
  Rng rng(1);
  d.init(rng);
  auto r = check_layer(d, {3, 6}, kTrain);
  EXPECT_FALSE(r.ok) << "the planted bug went unnoticed: " << r.report();
}

// GELU with the textbook slip in its derivative: d/dx [x Φ(x)] taken as Φ(x), the x φ(x) of the
// product rule forgotten (at most 0.17 |dy| off, near |x| = 1.4).
struct GeluWithoutProductRule {
  static constexpr bool from_output = false;
  template <class T>
  T forward(T x) const { return math::Gelu{}.forward(x); }
  template <class T>
  T backward(T x, T dy) const { return dy * T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752))); }
};

class PlantedGelu : public GELU {
 public:
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    for (int64_t i = 0; i < x.numel(); ++i) (*dx)[i] = GeluWithoutProductRule{}.backward(x[i], dy[i]);
  }
};

TEST(GradCheckCatches, GeluDerivativeWithoutTheProductRule) {
  PlantedGelu g;
  auto r = check_layer(g, {3, 2, 4, 4}, kTrain, {}, keep_off_zero);
  EXPECT_FALSE(r.ok) << "the planted bug went unnoticed: " << r.report();
}

// A scale layer whose backward passes dy through unscaled (dx = dy, the factor forgotten).
class UnscaledBackward : public Scale {
 public:
  using Scale::Scale;
  void backward(const Tensor&, const Tensor&, const Tensor& dy, Tensor* dx) override { ops::copy(dy, *dx); }
};

TEST(GradCheckCatches, ScaleBackwardWithoutTheFactor) {
  UnscaledBackward s(1.0 / 9);
  auto r = check_layer(s, {3, 10}, kTrain);
  EXPECT_FALSE(r.ok) << "the planted bug went unnoticed: " << r.report();
  Scale good(1.0 / 9);
  EXPECT_TRUE(check_layer(good, {3, 10}, kTrain).ok);
}

// Softmax cross-entropy whose gradient forgets the 1/N of the batch mean.
class NoMeanXent : public SoftmaxCrossEntropy {
 public:
  double forward_backward(const Tensor& out, const Targets& t, Tensor* dout) override {
    double l = SoftmaxCrossEntropy::forward_backward(out, t, dout);
    if (dout) ops::axpy(static_cast<Real>(out.dim(0) - 1), dout->clone(), *dout);  // bug: ×N
    return l;
  }
};

TEST(GradCheckCatches, DroppedOneOverNInLoss) {
  Tensor z({5, 3});
  Rng rng(2);
  for (int64_t i = 0; i < z.numel(); ++i) z[i] = static_cast<Real>(rng.uniform(-2, 2));
  std::vector<int32_t> y{0, 1, 2, 0, 1};
  NoMeanXent loss;
  auto r = check_loss(loss, z, {y});
  EXPECT_FALSE(r.ok) << "the planted bug went unnoticed: " << r.report();
}
