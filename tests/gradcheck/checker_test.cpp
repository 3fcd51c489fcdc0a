// The checker's own rules: a wrong gradient fails whether or not kinks are set aside, a kink
// crossed at every step fails unless they are, and mostly kinks is no pass.
#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck/gradcheck.h"

using namespace kiln;

namespace {

// L(θ) = Σ |θ_i|, with the analytic gradient given (sign θ, or a planted wrong value).
GradCheckResult check_abs(const std::vector<Real>& theta, const std::vector<Real>& grad, bool kinks_fail) {
  Tensor v({static_cast<int64_t>(theta.size())}), g({static_cast<int64_t>(theta.size())});
  for (size_t i = 0; i < theta.size(); ++i) {
    v[static_cast<int64_t>(i)] = theta[i];
    g[static_cast<int64_t>(i)] = grad[i];
  }
  auto loss = [&] {
    double l = 0;
    for (int64_t i = 0; i < v.numel(); ++i) l += std::abs(static_cast<double>(v[i]));
    return l;
  };
  GradCheckOptions o;
  o.kinks_fail = kinks_fail;
  return check_gradients(loss, {{"theta", v, g}}, o);
}

}  // namespace

TEST(GradChecker, AKinkCrossedAtEveryStepIsSetAsideOnlyWhenAsked) {
  // 5e-6 lies within every default step of the kink of |θ| at 0: quotients θ/h, all different.
  const std::vector<Real> theta{0.5, 5e-6, -0.25}, grad{1, 1, -1};
  const GradCheckResult strict = check_abs(theta, grad, true);
  EXPECT_FALSE(strict.ok);
  EXPECT_EQ(strict.failed, 1);
  const GradCheckResult lenient = check_abs(theta, grad, false);
  EXPECT_TRUE(lenient.ok) << lenient.report();
  EXPECT_EQ(lenient.failed, 0);
  EXPECT_EQ(lenient.not_smooth, 1);
  EXPECT_NE(lenient.report().find("1 set aside"), std::string::npos) << lenient.report();
}

TEST(GradChecker, AWrongGradientFailsEvenWhenKinksAreSetAside) {
  // Smooth at 0.5 (every quotient is 1), and the planted gradient says 2.
  const GradCheckResult r = check_abs({0.5, 5e-6, -0.25}, {2, 1, -1}, false);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.not_smooth, 1);
}

TEST(GradChecker, MostlyKinksIsNoPass) {
  const GradCheckResult r = check_abs({5e-6, -3e-6, 0.5}, {1, -1, 1}, false);
  EXPECT_EQ(r.failed, 0);
  EXPECT_EQ(r.not_smooth, 2);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.report().find("too many to conclude"), std::string::npos) << r.report();
}

TEST(GradChecker, RelativeErrorPerTensor) {
  // L = Σ θ² over two tensors; a's gradient is right, b's is 1.5 times too large at one element.
  Tensor a({3}), b({2}), ga({3}), gb({2});
  for (int64_t i = 0; i < 3; ++i) {
    a[i] = static_cast<Real>(0.5 + static_cast<double>(i));
    ga[i] = 2 * a[i];
  }
  for (int64_t i = 0; i < 2; ++i) {
    b[i] = static_cast<Real>(-1 - i);
    gb[i] = 2 * b[i];
  }
  gb[1] *= Real(1.5);  // analytic -9, numeric -6: relative error 3/9
  auto loss = [&] {
    double l = 0;
    for (int64_t i = 0; i < 3; ++i) l += static_cast<double>(a[i]) * a[i];
    for (int64_t i = 0; i < 2; ++i) l += static_cast<double>(b[i]) * b[i];
    return l;
  };
  const GradCheckResult r = check_gradients(loss, {{"a", a, ga}, {"b", b, gb}});
  ASSERT_EQ(r.tensors.size(), 2u);
  EXPECT_EQ(r.tensors[0].name, "a");
  EXPECT_LT(r.tensors[0].max_relative, 1e-6);
  EXPECT_LE(r.tensors[0].max_error, 1);
  EXPECT_EQ(r.tensors[1].name, "b");
  EXPECT_NEAR(r.tensors[1].max_relative, 1.0 / 3, 1e-6);
  EXPECT_GT(r.tensors[1].max_error, 1);
}
