// bf16 mixed precision on the CPU (cpu/gemm_bf16.h): the rounding, the GEMM kernel against its
// naive reference and against exact fp32 within the bound derived in gemm_bf16.h, dense and
// convolution layers under bf16 within the same bound, and a gradient check of the mixed-
// precision backward (with a planted bug it must catch). Skipped on a CPU without AVX512-BF16.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "bf16_testing.h"
#include "backend/runtime.h"
#include "backend/cpu/conv.h"
#include "backend/cpu/conv_direct.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/gemm_bf16.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "tensor/rng.h"

using namespace kiln;

namespace {

using kiln::testing::Bf16On;
using kiln::testing::kU;
using kiln::testing::kU32;
using kiln::testing::random_vector;

// The per-product part of the bound of gemm_bf16.h, written for sums of |â||b̂| of the rounded
// inputs (|a| <= |â| / (1 - u)).
constexpr double kProduct = (2 * kU + kU * kU) / ((1 - kU) * (1 - kU));

void fill(Tensor& t, Rng& rng) {
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<Real>(rng.uniform(-1, 1));
}
void round_all(Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = cpu::round_bf16(t[i]);
}
Tensor absolute(const Tensor& t) {
  Tensor a = t.clone();
  for (int64_t i = 0; i < a.numel(); ++i) a[i] = std::abs(a[i]);
  return a;
}

// |got - ref| <= bound elementwise; the largest |got - ref| / (|alpha| Σ|a||b|) in `worst`.
::testing::AssertionResult within(const float* got, const float* ref, const float* sum_abs, int64_t n, double rel,
                                  double absolute_part, double* worst = nullptr) {
  double w = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double err = std::abs(static_cast<double>(got[i]) - ref[i]), bound = rel * sum_abs[i] + absolute_part;
    if (!(err <= bound))
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", reference " << ref[i]
                                           << ", error " << err << " > bound " << bound;
    if (sum_abs[i] > 0) w = std::max(w, err / sum_abs[i]);
  }
  if (worst) *worst = w;
  return ::testing::AssertionSuccess();
}

}  // namespace

TEST(Bf16, RoundsToNearestTiesToEven) {
  EXPECT_EQ(cpu::round_bf16(1.0f + 0x1p-8f), 1.0f);                    // tie, 1.0 is even
  EXPECT_EQ(cpu::round_bf16(1.0f + 0x1p-7f + 0x1p-8f), 1.0f + 0x1p-6f);  // tie, goes up to even
  EXPECT_EQ(cpu::round_bf16(1.0f + 0x1p-8f + 0x1p-20f), 1.0f + 0x1p-7f);  // past the tie
  EXPECT_EQ(cpu::round_bf16(-3.0f), -3.0f);
  EXPECT_TRUE(std::isnan(cpu::round_bf16(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(cpu::round_bf16(std::numeric_limits<float>::infinity()), std::numeric_limits<float>::infinity());
  EXPECT_EQ(cpu::round_bf16(std::numeric_limits<float>::max()), std::numeric_limits<float>::infinity());
}

// The kernel's vector rounding (vcvtne2ps2bf16) agrees with the scalar one bit for bit: a 1 x 1
// GEMM with B = 1 returns round(a), on random values and on ties, in both packing layouts.
TEST(Bf16, TheKernelRoundsAsTheScalarDoes) {
  KILN_NEED_BF16();
  Rng rng(5);
  std::vector<float> values = random_vector(300, rng, -100, 100);
  for (int i = 0; i < 100; ++i) values.push_back(std::ldexp(1.0f + (2 * i + 1) * 0x1p-8f, i % 20 - 10));  // ties
  const float one = 1.0f;
  for (float a : values)
    for (bool trans : {false, true}) {
      float c = 0;
      cpu::gemm_bf16_serial(trans, trans, 1, 1, 1, 1.0f, &a, 1, &one, 1, 0.0f, &c, 1);
      ASSERT_EQ(c, cpu::round_bf16(a)) << "a = " << a << " trans " << trans;
    }
}

// round_to_bf16 (the direct convolutions' operands under bf16) is round_bf16_flushed bit for
// bit, over lengths that end inside a vector: random values, ties, subnormals (flushed to
// signed zero), NaN, infinities and values that round past the largest bf16.
TEST(Bf16, TheRoundingCopyIsTheFlushedScalar) {
  KILN_NEED_BF16();
  Rng rng(7);
  std::vector<float> values = random_vector(200, rng, -100, 100);
  for (int i = 0; i < 40; ++i) values.push_back(std::ldexp(1.0f + (2 * i + 1) * 0x1p-8f, i % 20 - 10));  // ties
  for (float v : {0x1p-130f, -0x1p-140f, 0x1.fffffcp-127f, 0x1p-126f, std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), -0.0f})
    values.push_back(v);
  EXPECT_EQ(cpu::round_bf16_flushed(0x1p-130f), 0.0f);
  EXPECT_TRUE(std::signbit(cpu::round_bf16_flushed(-0x1p-140f)));
  for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{17}, static_cast<int64_t>(values.size())}) {
    std::vector<float> out(static_cast<size_t>(n), 7.0f);
    cpu::round_to_bf16(values.data(), out.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t got = std::bit_cast<uint32_t>(out[static_cast<size_t>(i)]),
                     want = std::bit_cast<uint32_t>(cpu::round_bf16_flushed(values[static_cast<size_t>(i)]));
      ASSERT_EQ(got, want) << "x = " << values[static_cast<size_t>(i)] << " (n " << n << ")";
    }
  }
  std::vector<float> nan(3, std::numeric_limits<float>::quiet_NaN());
  cpu::round_to_bf16(nan.data(), nan.data(), 3);
  for (float v : nan) EXPECT_TRUE(std::isnan(v));
}

// Odd sizes, the edges of every blocking (16-lane panels, 8-row and 48-column micro-tiles, 256
// k, 128 rows, 768 columns), all transpositions, padded strides, beta 0 over NaN (C unread) and
// beta 0.5, serial and split over the thread pool. Against the naive bf16 reference: only the
// fp32 summation differs, (K + 2) 2^-24 Σ|â||b̂|. Against exact fp32 inputs: the bound of
// gemm_bf16.h, and the error is really that of bf16 (not fp32) once K is large enough to show.
TEST(Bf16Gemm, MatchesTheReferenceWithinTheBound) {
  KILN_NEED_BF16();
  struct Size {
    int64_t M, N, K;
  };
  const Size sizes[] = {{1, 1, 1},   {1, 17, 3},   {7, 1, 2},     {8, 48, 32},  {9, 49, 33},    {17, 50, 255},
                        {15, 97, 257}, {130, 20, 9}, {3, 770, 40}, {33, 65, 600}, {129, 100, 513}};
  Rng rng(17);
  const float alpha = 0.75f;
  for (const Size& s : sizes)
    for (int t = 0; t < 4; ++t)
      for (float beta : {0.0f, 0.5f})
        for (bool threaded : {false, true}) {
          const bool ta = t & 1, tb = t & 2;
          SCOPED_TRACE(::testing::Message() << s.M << "x" << s.N << "x" << s.K << " ta " << ta << " tb " << tb
                                            << " beta " << beta << (threaded ? " threaded" : " serial"));
          const int64_t lda = (ta ? s.M : s.K) + 3, ldb = (tb ? s.K : s.N) + 1, ldc = s.N + 5;
          const std::vector<float> A = random_vector((ta ? s.K : s.M) * lda, rng),
                                   B = random_vector((tb ? s.N : s.K) * ldb, rng);
          std::vector<float> C0 = random_vector(s.M * ldc, rng);
          if (beta == 0) C0.assign(C0.size(), std::numeric_limits<float>::quiet_NaN());
          std::vector<float> C = C0, Cn = C0, Cx = C0;
          if (threaded) {
            Bf16On on;
            cpu::gemm(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
          } else {
            cpu::gemm_bf16_serial(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
          }
          cpu::gemm_bf16_naive(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, Cn.data(), ldc);
          cpu::gemm_naive(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, Cx.data(), ldc);
          // |alpha| Σ|â||b̂| (+ |beta c|, whose rounding is one fp32 ulp) per element of C.
          std::vector<float> absA(A.size()), absB(B.size()), S(C0.size(), 0.f);
          for (size_t i = 0; i < A.size(); ++i) absA[i] = std::abs(cpu::round_bf16(A[i]));
          for (size_t i = 0; i < B.size(); ++i) absB[i] = std::abs(cpu::round_bf16(B[i]));
          cpu::gemm_naive(ta, tb, s.M, s.N, s.K, std::abs(alpha), absA.data(), lda, absB.data(), ldb, 0.f, S.data(), ldc);
          const double beta_part = beta == 0 ? 0.0 : 2 * kU32 * beta;  // |C0| <= 1
          for (int64_t i = 0; i < s.M; ++i) {
            const int64_t o = i * ldc;
            ASSERT_TRUE(within(C.data() + o, Cn.data() + o, S.data() + o, s.N, (s.K + 2) * kU32, beta_part)) << "row " << i;
            double worst = 0;
            ASSERT_TRUE(within(C.data() + o, Cx.data() + o, S.data() + o, s.N, kProduct + (s.K + 2) * kU32, beta_part, &worst))
                << "row " << i;
            // Random inputs round by ~u/3 on average; over 100+ products in a row some error
            // reaches 1/256 of u (2^-16), which fp32 inputs (~2^-24) never would.
            if (s.K >= 100 && i == 0) {
              EXPECT_GT(worst, kU / 256) << "no bf16 rounding seen: is this the fp32 path?";
            }
          }
          // The padding between rows of C is never written.
          for (int64_t i = 0; i < s.M; ++i)
            for (int64_t j = s.N; j < ldc; ++j) {
              const float before = C0[i * ldc + j], after = C[i * ldc + j];
              ASSERT_TRUE(before == after || (std::isnan(before) && std::isnan(after))) << "padding written at " << i;
            }
        }
}

namespace {

struct ConvCase {
  int64_t N, C, H, W, K, R, stride, pad;
};

// A convolution layer under bf16 (set through the backend, as the trainer does) against the
// exact fp32 references, within the bound with Σ|â||b̂| taken as the same layer run on |x̂|,
// |ŵ|: forward, dL/dx and dL/dw. Returns the largest error seen over that sum (the rounding).
double check_conv_within_bound(const ConvCase& c, Rng& rng) {
  SCOPED_TRACE(::testing::Message() << "conv " << c.C << "->" << c.K << " " << c.R << "x" << c.R << " stride "
                                    << c.stride << " pad " << c.pad);
  Conv2d conv(c.C, c.K, c.R, c.R, c.stride, c.pad, true);
  fill(conv.weight(), rng);
  fill(conv.bias(), rng);
  const ConvDims d = conv_dims(c.N, c.C, c.H, c.W, c.K, c.R, c.R, c.stride, c.pad);
  const Shape in{c.N, c.C, c.H, c.W}, out{c.N, c.K, d.P, d.Q};
  Tensor x(in), y(out), dy(out), dx(in);
  fill(x, rng);
  fill(dy, rng);
  const bool before = set_bf16(Device::cpu, true);
  conv.forward(x, y, Pass{Mode::train, 1, 0});
  conv.backward(x, y, dy, &dx);
  set_bf16(Device::cpu, before);
  // References: exact, and the sums of absolute products (on bf16-rounded magnitudes).
  Tensor y_ref(out), dx_ref(in), dw_ref({c.K, c.C, c.R, c.R}), db_ref({c.K});
  cpu::conv2d_forward_naive(x.data(), conv.weight().data(), conv.bias().data(), y_ref.data(), d);
  cpu::conv2d_backward_naive(x.data(), conv.weight().data(), dy.data(), dx_ref.data(), dw_ref.data(), db_ref.data(), d);
  Tensor ax = absolute(x), aw = absolute(conv.weight()), ady = absolute(dy);
  round_all(ax), round_all(aw), round_all(ady);
  Tensor y_abs(out), dx_abs(in), dw_abs({c.K, c.C, c.R, c.R});
  cpu::conv2d_forward_naive(ax.data(), aw.data(), nullptr, y_abs.data(), d);
  cpu::conv2d_backward_naive(ax.data(), aw.data(), ady.data(), dx_abs.data(), dw_abs.data(), nullptr, d);
  const double fp32 = 4 * kU32;  // the bias added and the reorderings, one rounding each
  double worst = 0, w;
  EXPECT_TRUE(within(y.data(), y_ref.data(), y_abs.data(), y.numel(), kProduct + (d.crs() + 2) * kU32, fp32, &w))
      << "forward";
  worst = std::max(worst, w);
  EXPECT_TRUE(within(dx.data(), dx_ref.data(), dx_abs.data(), dx.numel(), kProduct + (c.K * c.R * c.R + 2) * kU32, fp32, &w))
      << "dx";
  worst = std::max(worst, w);
  EXPECT_TRUE(within(conv.params()[0].grad->data(), dw_ref.data(), dw_abs.data(), dw_ref.numel(),
                     kProduct + (c.N * d.pq() + 2) * kU32, fp32, &w))
      << "dw";
  worst = std::max(worst, w);
  for (int64_t k = 0; k < c.K; ++k)  // dL/db sums dy as it is: no bf16 rounding in it
    EXPECT_NEAR((*conv.params()[1].grad)[k], db_ref[k], 4 * kU32 * c.N * d.pq()) << "db[" << k << "]";
  return worst;
}

}  // namespace

// Convolutions on the lowering (forced: the Winograd-sized 32 -> 32 channels would take the
// Winograd kernels with bf16 products, whose error exceeds this bound; their own, derived from
// the transforms, is tested in bf16_winograd_test.cpp), and dense forward, dL/dx and dL/dW.
TEST(Bf16Layers, ConvAndDenseWithinTheBound) {
  KILN_NEED_BF16();
  struct Lowered {
    cpu::ConvPath before = cpu::set_conv_path(cpu::ConvPath::lowered);
    ~Lowered() { cpu::set_conv_path(before); }
  } lowered;
  const ConvCase cases[] = {{3, 5, 9, 7, 6, 3, 1, 1}, {2, 3, 11, 11, 7, 5, 2, 2}, {2, 32, 8, 8, 32, 3, 1, 1}};
  Rng rng(23);
  for (const ConvCase& c : cases) check_conv_within_bound(c, rng);

  const int64_t N = 13, F_in = 37, F_out = 19;
  Dense dense(F_in, F_out, false);
  fill(dense.weight(), rng);
  Tensor x({N, F_in}), y({N, F_out}), dy({N, F_out}), dx({N, F_in});
  fill(x, rng);
  fill(dy, rng);
  const bool before = set_bf16(Device::cpu, true);
  dense.forward(x, y, Pass{Mode::train, 1, 0});
  dense.backward(x, y, dy, &dx);
  set_bf16(Device::cpu, before);
  const Tensor& w = dense.weight();
  Tensor y_ref({N, F_out}), dx_ref({N, F_in}), dw_ref({F_out, F_in}), y_abs({N, F_out}), dx_abs({N, F_in}),
      dw_abs({F_out, F_in});
  Tensor ax = absolute(x), aw = absolute(w), ady = absolute(dy);
  round_all(ax), round_all(aw), round_all(ady);
  cpu::gemm_naive(false, true, N, F_out, F_in, 1, x.data(), F_in, w.data(), F_in, 0, y_ref.data(), F_out);
  cpu::gemm_naive(false, false, N, F_in, F_out, 1, dy.data(), F_out, w.data(), F_in, 0, dx_ref.data(), F_in);
  cpu::gemm_naive(true, false, F_out, F_in, N, 1, dy.data(), F_out, x.data(), F_in, 0, dw_ref.data(), F_in);
  cpu::gemm_naive(false, true, N, F_out, F_in, 1, ax.data(), F_in, aw.data(), F_in, 0, y_abs.data(), F_out);
  cpu::gemm_naive(false, false, N, F_in, F_out, 1, ady.data(), F_out, aw.data(), F_in, 0, dx_abs.data(), F_in);
  cpu::gemm_naive(true, false, F_out, F_in, N, 1, ady.data(), F_out, ax.data(), F_in, 0, dw_abs.data(), F_in);
  EXPECT_TRUE(within(y.data(), y_ref.data(), y_abs.data(), y.numel(), kProduct + (F_in + 2) * kU32, 0)) << "dense forward";
  EXPECT_TRUE(within(dx.data(), dx_ref.data(), dx_abs.data(), dx.numel(), kProduct + (F_out + 2) * kU32, 0)) << "dense dx";
  EXPECT_TRUE(within(dense.params()[0].grad->data(), dw_ref.data(), dw_abs.data(), dw_ref.numel(),
                     kProduct + (N + 2) * kU32, 0))
      << "dense dW";
}

// The convolutions the direct kernels take under bf16 (stride 1, few channels: the first
// layers of the seed CNNs), which run them on operands rounded to bf16 (conv.cpp): within the
// bound of the bf16 GEMM, and with the rounding seen (the fp32 kernels on the operands as they
// are would be ~2^-24 off; rounded ones are ~2^-16 off somewhere over 75+ products).
TEST(Bf16Layers, DirectConvolutionsRoundTheirOperands) {
  KILN_NEED_BF16();
  const ConvCase cases[] = {{4, 3, 16, 16, 16, 5, 1, 2}, {3, 5, 9, 7, 6, 3, 1, 1}};
  Rng rng(29);
  for (const ConvCase& c : cases) {
    ASSERT_TRUE(cpu::direct::supported(conv_dims(c.N, c.C, c.H, c.W, c.K, c.R, c.R, c.stride, c.pad)))
        << "not a shape the direct kernels take: this test would not test them";
    EXPECT_GT(check_conv_within_bound(c, rng), kU / 256) << "no bf16 rounding seen: the operands were not rounded";
  }
}

TEST(Bf16Layers, TheSettingTogglesAndReturnsThePreviousOne) {
  KILN_NEED_BF16();
  const bool before = cpu::set_gemm_bf16(true);
  EXPECT_TRUE(cpu::gemm_bf16_enabled());
  EXPECT_TRUE(cpu::set_gemm_bf16(false));
  EXPECT_FALSE(cpu::gemm_bf16_enabled());
  cpu::set_gemm_bf16(before);
}
