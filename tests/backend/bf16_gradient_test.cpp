// Gradient check of the mixed-precision (bf16) backward, in the float build.
//
// What is checked: the bf16 forward f(round(x), round(w)) is piecewise constant in x and w, so
// its own derivative is 0 almost everywhere; what training uses is the derivative of the
// product with the rounding taken as the identity (straight through), i.e. the exact gradient
// of the forward at bf16 points. With x, w and the loss weights r (L = Σ r ⊙ y, so dL/dy = r)
// all bf16 numbers, the bf16 GEMMs' products are exact and the backward's dX and dW GEMMs
// must give that gradient to fp32 summation error. Central differences between two bf16
// neighbours of each entry, v± = round_bf16(v ± 1/4) (both exact inputs, so the forward sees no
// rounding), are exact for the linear dependence of L on one entry, up to that same fp32
// summation error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "backend/cpu/conv_winograd.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/gemm_bf16.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "tensor/rng.h"

using namespace kiln;

namespace {

struct Bf16On {
  bool before = cpu::set_gemm_bf16(true);
  ~Bf16On() { cpu::set_gemm_bf16(before); }
};

void fill_bf16(Tensor& t, Rng& rng) {
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = cpu::round_bf16(static_cast<float>(rng.uniform(-1, 1)));
}

double weighted_sum(const Tensor& y, const Tensor& r) {
  double s = 0;
  for (int64_t i = 0; i < y.numel(); ++i) s += static_cast<double>(y[i]) * r[i];
  return s;
}

// The worst |fd - g| / (1 + |g|) over `samples` entries of `value` spread over it.
double worst_difference(Tensor& value, const Tensor& grad, const std::function<double()>& loss, int64_t samples) {
  double worst = 0;
  const int64_t step = std::max<int64_t>(1, value.numel() / samples);
  for (int64_t i = 0; i < value.numel(); i += step) {
    const float v = value[i], up = cpu::round_bf16(v + 0.25f), down = cpu::round_bf16(v - 0.25f);
    value[i] = up;
    const double l_up = loss();
    value[i] = down;
    const double l_down = loss();
    value[i] = v;
    const double fd = (l_up - l_down) / (static_cast<double>(up) - down);
    worst = std::max(worst, std::abs(fd - grad[i]) / (1 + std::abs(grad[i])));
  }
  return worst;
}

// fp32 summation error of the sums involved (~100 terms of magnitude < 1) over a step of 1/2 is
// ~1e-5; a wrong term in the gradient is ~0.1 of it.
constexpr double kTolerance = 1e-3;

}  // namespace

TEST(Bf16Gradient, ConvolutionBackwardIsTheGradientOfTheBf16Forward) {
  if (!cpu::bf16_supported()) GTEST_SKIP() << "this CPU has no AVX512-BF16 (vdpbf16ps): nothing to test";
  Bf16On on;
  Rng rng(31);
  for (int64_t stride : {1, 2}) {
    SCOPED_TRACE(::testing::Message() << "stride " << stride);
    Conv2d conv(3, 5, 3, 3, stride, 1, true);
    fill_bf16(conv.weight(), rng);
    fill_bf16(conv.bias(), rng);
    const Shape in{2, 3, 7, 6}, out = conv.output_shape(in);
    Tensor x(in), y(out), r(out), dx(in);
    fill_bf16(x, rng);
    fill_bf16(r, rng);
    const Pass pass{Mode::train, 1, 0};
    auto loss = [&] {
      conv.forward(x, y, pass);
      return weighted_sum(y, r);
    };
    loss();
    for (auto& p : conv.params()) p.grad->zero();
    conv.backward(x, y, r, &dx);
    EXPECT_LT(worst_difference(x, dx, loss, 60), kTolerance) << "dL/dx";
    EXPECT_LT(worst_difference(conv.weight(), *conv.params()[0].grad, loss, 60), kTolerance) << "dL/dw";
    EXPECT_LT(worst_difference(conv.bias(), *conv.params()[1].grad, loss, 5), kTolerance) << "dL/db";
  }
}

// The Winograd path (16 -> 16 channels, 3x3: bf16 products in conv_winograd.h), dL/dx. Its
// forward rounds the transformed tiles and filters, not x and w, so bf16 points alone do not make
// it linear; inputs whose transforms bf16 holds exactly do (bf16_winograd_test.cpp, test 3): x
// and r in {-1, 0, 1} (steps of ±1 keep |x| <= 2, so |Bᵀ d B| <= 200), filters ±v uᵀ of the
// lattice there. Then the forward is exactly linear in x up to fp32 rounding, and the central
// difference of one entry is its exact gradient. dL/dw is not checked this way (a step in one
// weight leaves the lattice); the derived bound of bf16_winograd_test.cpp covers it.
TEST(Bf16Gradient, WinogradConvolutionDataGradientIsTheGradientOfTheBf16Forward) {
  if (!cpu::bf16_supported()) GTEST_SKIP() << "this CPU has no AVX512-BF16 (vdpbf16ps): nothing to test";
  Bf16On on;
  Rng rng(33);
  const float basis[3][3] = {{1, 0, -1}, {0, 3, 0}, {1, 0, 2}};
  Conv2d conv(16, 16, 3, 3, 1, 1, true);
  Tensor& w = conv.weight();
  for (int64_t f = 0; f < 16 * 16; ++f) {
    const int i = static_cast<int>(rng.uniform(0, 3)) % 3, j = static_cast<int>(rng.uniform(0, 3)) % 3;
    const float sign = rng.uniform(0, 1) < 0.5 ? -1.f : 1.f;
    for (int k = 0; k < 9; ++k) w[f * 9 + k] = sign * basis[i][k / 3] * basis[j][k % 3];
  }
  conv.bias().zero();
  auto trit = [&] { return static_cast<float>(std::min(1, static_cast<int>(std::floor(rng.uniform(-1, 2))))); };
  const Shape in{2, 16, 8, 7}, out = conv.output_shape(in);
  ASSERT_TRUE(cpu::winograd::supported(conv_dims(2, 16, 8, 7, 16, 3, 3, 1, 1)));
  Tensor x(in), y(out), r(out), dx(in);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = trit();
  for (int64_t i = 0; i < r.numel(); ++i) r[i] = trit();
  const Pass pass{Mode::train, 1, 0};
  auto loss = [&] {
    conv.forward(x, y, pass);
    return weighted_sum(y, r);
  };
  auto worst = [&](const Tensor& g) {
    double m = 0;
    for (int64_t i = 0; i < x.numel(); i += 7) {
      const float v = x[i];
      x[i] = v + 1;
      const double up = loss();
      x[i] = v - 1;
      const double down = loss();
      x[i] = v;
      m = std::max(m, std::abs((up - down) / 2 - g[i]) / (1 + std::abs(g[i])));
    }
    return m;
  };
  loss();
  conv.backward(x, y, r, &dx);
  EXPECT_LT(worst(dx), kTolerance) << "dL/dx";
  // Planted bug: dL/dx with the filters not rotated (the forward's U in place of the flipped
  // one), computed by the same kernel.
  Tensor dx_bad(in);
  cpu::winograd::conv2d_forward(r.data(), w.data(), nullptr, dx_bad.data(), conv_dims(2, 16, 8, 7, 16, 3, 3, 1, 1),
                                Epilogue::none, true);
  EXPECT_GT(worst(dx_bad), 10 * kTolerance) << "the planted bug went unnoticed";
}

TEST(Bf16Gradient, DenseBackwardIsTheGradientOfTheBf16Forward) {
  if (!cpu::bf16_supported()) GTEST_SKIP() << "this CPU has no AVX512-BF16 (vdpbf16ps): nothing to test";
  Bf16On on;
  Rng rng(37);
  const int64_t N = 6, F_in = 21, F_out = 19;  // odd: the k-pairs' zero-padded tails are exercised
  Dense dense(F_in, F_out, true);
  fill_bf16(dense.weight(), rng);
  Tensor x({N, F_in}), y({N, F_out}), r({N, F_out}), dx({N, F_in});
  fill_bf16(x, rng);
  fill_bf16(r, rng);
  const Pass pass{Mode::train, 1, 0};
  auto loss = [&] {
    dense.forward(x, y, pass);
    return weighted_sum(y, r);
  };
  loss();
  for (auto& p : dense.params()) p.grad->zero();
  dense.backward(x, y, r, &dx);
  EXPECT_LT(worst_difference(x, dx, loss, 60), kTolerance) << "dL/dx";
  EXPECT_LT(worst_difference(dense.weight(), *dense.params()[0].grad, loss, 60), kTolerance) << "dL/dW";

  // Planted bug: dL/dx = r W by a bf16 GEMM that drops the last k (the odd tail a pair packing
  // could lose). The check must see it.
  Tensor dx_bad({N, F_in});
  cpu::gemm(false, false, N, F_in, F_out - 1, 1.0f, r.data(), F_out, dense.weight().data(), F_in, 0.0f, dx_bad.data(), F_in);
  EXPECT_GT(worst_difference(x, dx_bad, loss, 60), 10 * kTolerance) << "the planted bug went unnoticed";
}
