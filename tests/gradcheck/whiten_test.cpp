// Gradient check (double precision build) of the whitening convolution's dL/dx (its filters
// are frozen: no parameters to check), and the planted bug it must catch.
#include <gtest/gtest.h>

#include "backend/ops.h"
#include "gradcheck/gradcheck.h"
#include "layers/whiten.h"

using namespace kiln;

namespace {

const Pass kTrain{Mode::train, 1, 0};

// Filters from a batch of random images, as the model's data-dependent initialisation sets them.
void whiten_from_random(Whiten& w, const Shape& in) {
  Rng rng(6);
  Tensor x(in);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
  w.init_from_data(x);
}

// A whiten layer whose backward drops the negated half of its output channels, as a backward
// written for d filters (forgetting the mirrored ones) would.
class HalfWhiten : public Whiten {
 public:
  using Whiten::Whiten;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override {
    Tensor cut = dy.clone();
    const int64_t plane = dy.dim(2) * dy.dim(3), K = dy.dim(1);
    for (int64_t n = 0; n < dy.dim(0); ++n)
      for (int64_t i = (n * K + K / 2) * plane; i < (n + 1) * K * plane; ++i) cut[i] = 0;
    Whiten::backward(x, y, cut, dx);
  }
};

}  // namespace

TEST(GradCheck, Whiten) {
  Whiten w(2, 2, 2);
  whiten_from_random(w, {4, 2, 5, 6});
  auto r = check_layer(w, {3, 2, 5, 6}, kTrain);
  EXPECT_TRUE(r.ok) << r.report();
  EXPECT_EQ(r.checked, 3 * 2 * 5 * 6);  // dL/dx only
}

TEST(GradCheckCatches, WhitenBackwardWithoutTheNegatedFilters) {
  HalfWhiten w(2, 2, 2);
  whiten_from_random(w, {4, 2, 5, 6});
  auto r = check_layer(w, {3, 2, 5, 6}, kTrain);
  EXPECT_FALSE(r.ok) << "the planted bug went unnoticed: " << r.report();
}
