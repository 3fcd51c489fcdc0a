// The vectorisable float exp, tanh and logistic function (backend/cpu/fast_math.h) against the
// C library's, in ulps, over the whole useful range and at the edges; and the activation
// kernels that use them against the reference formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/cpu/activation.h"
#include "backend/cpu/fast_math.h"
#include "layers/activation.h"
#include "model/build.h"

using namespace kiln;

namespace {

// Distance in units in the last place between two finite floats of the same sign, or across 0.
int64_t ulps(float a, float b) {
  auto key = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, sizeof i);
    return i < 0 ? int64_t{INT32_MIN} - i : int64_t{i};  // monotone in f
  };
  return std::llabs(key(a) - key(b));
}

// Every float step of `step` from lo to hi, and their negatives.
std::vector<float> grid(float lo, float hi, float step) {
  std::vector<float> v;
  for (float x = lo; x <= hi; x += step) {
    v.push_back(x);
    v.push_back(-x);
  }
  return v;
}

}  // namespace

TEST(FastMath, ExpWithinThreeUlpsOfExpf) {
  int64_t worst = 0;
  for (float x : grid(0, 87, 0.0137f)) worst = std::max(worst, ulps(cpu::exp_fast(x), std::exp(x)));
  EXPECT_LE(worst, 3);
  EXPECT_EQ(cpu::exp_fast(0), 1.0f);
  EXPECT_EQ(cpu::exp_fast(-1000), 0.0f);
  EXPECT_TRUE(std::isfinite(cpu::exp_fast(88)));
  EXPECT_TRUE(std::isnan(cpu::exp_fast(std::numeric_limits<float>::quiet_NaN())));
}

TEST(FastMath, TanhWithinThreeUlpsOfTanhf) {
  int64_t worst = 0;
  // Fine steps through the polynomial and the switch at 0.625, coarser beyond.
  for (float x : grid(0, 1, 1.0f / 4096)) worst = std::max(worst, ulps(cpu::tanh_fast(x), std::tanh(x)));
  for (float x : grid(1, 20, 0.0071f)) worst = std::max(worst, ulps(cpu::tanh_fast(x), std::tanh(x)));
  EXPECT_LE(worst, 3);
  for (float tiny : {1e-30f, 1e-10f, 1e-5f}) EXPECT_FLOAT_EQ(cpu::tanh_fast(tiny), tiny);
  EXPECT_EQ(cpu::tanh_fast(0), 0.0f);
  EXPECT_EQ(cpu::tanh_fast(100), 1.0f);
  EXPECT_EQ(cpu::tanh_fast(-1e30f), -1.0f);
  EXPECT_TRUE(std::isnan(cpu::tanh_fast(std::numeric_limits<float>::quiet_NaN())));
}

TEST(FastMath, SigmoidWithinThreeUlpsOfTheStableFormula) {
  int64_t worst = 0;
  for (float x : grid(0, 80, 0.0093f)) {
    const double e = std::exp(-std::abs(static_cast<double>(x)));
    const float ref = static_cast<float>(x >= 0 ? 1 / (1 + e) : e / (1 + e));
    worst = std::max(worst, ulps(cpu::sigmoid_fast(x), ref));
  }
  EXPECT_LE(worst, 3);
  EXPECT_EQ(cpu::sigmoid_fast(0), 0.5f);
  EXPECT_EQ(cpu::sigmoid_fast(200), 1.0f);
  EXPECT_EQ(cpu::sigmoid_fast(-200), 0.0f);
}

// Abramowitz & Stegun 7.1.26 promises |error| ≤ 1.5e-7; float rounding (of t, the polynomial
// and exp_fast) adds about as much again: 3.5e-7 measured, a few float ulps of 1.
TEST(FastMath, ErfWithinFourTenMillionthsOfErf) {
  double worst = 0;
  for (float x : grid(0, 6, 0.00173f)) worst = std::max(worst, std::abs(double(cpu::erf_fast(x)) - std::erf(double(x))));
  EXPECT_LE(worst, 4e-7);
  EXPECT_EQ(cpu::erf_fast(10), 1.0f);
  EXPECT_EQ(cpu::erf_fast(-10), -1.0f);
  EXPECT_NEAR(cpu::erf_fast(0), 0.0f, 1e-7);
}

// GELU (the erf form) against x Φ(x) in double, and its derivative Φ + x φ; values PyTorch's
// nn.GELU() gives: gelu(1) = 0.8413447, gelu(-1) = -0.1586553, gelu'(1) = 1.0833155.
TEST(Activation, GeluIsTheErfForm) {
  const int64_t n = 4001;
  std::vector<Real> x(n), y(n), dy(n, Real(1)), dx(n);
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = static_cast<Real>(-10 + 0.005 * static_cast<double>(i));
  cpu::activation_forward(math::Gelu{}, x.data(), y.data(), n);
  cpu::activation_backward(math::Gelu{}, x.data(), dy.data(), dx.data(), n);
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i], cdf = 0.5 * (1 + std::erf(v / std::sqrt(2.0)));
    const double pdf = std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI);
    ASSERT_NEAR(y[i], v * cdf, 2e-6) << v;
    ASSERT_NEAR(dx[i], cdf + v * pdf, 2e-6) << v;
  }
  const float one = 1, minus = -1;
  float g = 0;
  cpu::activation_forward(math::Gelu{}, &one, &g, 1);
  EXPECT_NEAR(g, 0.8413447f, 1e-6);
  cpu::activation_forward(math::Gelu{}, &minus, &g, 1);
  EXPECT_NEAR(g, -0.1586553f, 1e-6);
  const float d1 = 1;
  cpu::activation_backward(math::Gelu{}, &one, &d1, &g, 1);
  EXPECT_NEAR(g, 1.0833155f, 1e-6);
}

// The kernels, on odd lengths that leave vector tails, against the formulas element by element.
TEST(Activation, KernelsMatchTheirFormulas) {
  for (int64_t n : {1, 17, 1000, 70001}) {
    std::vector<Real> x(static_cast<size_t>(n)), y(x.size()), dy(x.size()), dx(x.size());
    for (int64_t i = 0; i < n; ++i) {
      x[static_cast<size_t>(i)] = static_cast<Real>(std::sin(0.37 * static_cast<double>(i)) * 6);
      dy[static_cast<size_t>(i)] = static_cast<Real>(std::cos(0.11 * static_cast<double>(i)));
    }
    cpu::activation_forward(math::Tanh{}, x.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[static_cast<size_t>(i)], std::tanh(x[static_cast<size_t>(i)]), 1e-6) << i;
    cpu::activation_backward(math::Tanh{}, y.data(), dy.data(), dx.data(), n);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(dx[i], dy[i] * (1 - y[i] * y[i]), 1e-6) << i;
    cpu::activation_forward(math::Sigmoid{}, x.data(), y.data(), n);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(y[i], 1 / (1 + std::exp(-static_cast<double>(x[i]))), 1e-6) << i;
    cpu::activation_backward(math::Sigmoid{}, y.data(), dy.data(), dx.data(), n);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(dx[i], dy[i] * y[i] * (1 - y[i]), 1e-6) << i;
  }
}

// scale F: y = F·x, dx = F·dy, no parameters; its spec reads back as the same factor.
TEST(Activation, ScaleLayerMultipliesBothWaysAndKeepsItsSpec) {
  Model m = build_model(Shape{4}, {"scale 0.111111"}, 1);
  EXPECT_EQ(m.param_count(), 0);
  EXPECT_EQ(m.net()[0].spec(), "scale 0.111111");
  EXPECT_EQ(build_model(Shape{4}, {"scale factor=-2"}, 1).net()[0].spec(), "scale -2");
  EXPECT_EQ(Scale(Real(1.0 / 3)).spec(), "scale 0.33333334");  // the float 1/3 needs eight digits
  EXPECT_THROW(build_model(Shape{4}, {"scale nan"}, 1), Error);
  const float x[3] = {1, -2, 0.5f}, dy[3] = {3, 1, -1};
  float y[3], dx[3];
  cpu::activation_forward(math::Scale{0.25f}, x, y, 3);
  cpu::activation_backward(math::Scale{0.25f}, x, dy, dx, 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(y[i], 0.25f * x[i]);
    EXPECT_EQ(dx[i], 0.25f * dy[i]);
  }
}
