// The Winograd convolution with bf16 products (train.precision = "bf16": conv_winograd.h,
// winograd_bf16.h). Three tests:
//   1. the pair-packing GEMM against the naive bf16 GEMM, within gemm_bf16.h's bound, and a
//      planted bug (one pair of the sum dropped) that the bound must catch;
//   2. forward, dL/dx and dL/dw through the backend's seam (conv.cpp) against the double naive
//      convolution, within the bound derived below from the transforms' absolute row sums;
//      the error really exceeds the lowering's bound (so the Winograd amplification is real
//      and the bound cannot be the lowering's);
//   3. the same passes on inputs for which every bf16 rounding is exact (small integers, filters
//      whose transforms are dyadic): then nothing but fp32 rounding is left, and the bf16 path
//      must meet the fp32 Winograd kernels' own bound, sharp enough to see a wrong index.
// Skipped on a CPU without AVX512-BF16.
//
// The bound (test 2). F(4x4, r x r) computes an output tile as Y = Aᵀ M A with
//     M_ab = Σ_c U_ab,c V_ab,c,   U_c = G g_c Gᵀ,   V_c = Bᵀ d_c B.
// With β_a = Σ_j |Bᵀ_aj|, γ_a = Σ_j |G_aj| (absolute row sums), |V_ab| <= β_a β_b max|d| and
// |U_ab| <= γ_a γ_b max|g|. The bf16 products (gemm_bf16.h) give
//     |M̂_ab - M_ab| <= e Σ_c |U_ab,c| |V_ab,c| <= e C γ_a γ_b β_a β_b max|d| max|g|,
//     e = 2u + u² + (C + 2) 2^-24, u = 2^-8,
// and the output transform adds them with the weights Aᵀ_ia Aᵀ_jb:
//     |Ŷ_ij - Y_ij| <= e C max|d| max|g| κ_i κ_j,   κ_i = Σ_a |Aᵀ_ia| γ_a β_a.
// (The transforms themselves are fp32: their rounding, the fp32 kernels' 2e-5 of the largest
// output (conv_pool_test.cpp), is added.) dL/dx is the forward on dy with C and K swapped.
// dL/dw = Gᵀ dU G with dU_ab = Σ_t V_ab,t dM_ab,t, dM = A dY Aᵀ over the T tiles: with
// α_a = Σ_i |Aᵀ_ia| (A's row sums), |dM_ab| <= α_a α_b max|dy|, so
//     |dŵ_pq - dw_pq| <= e_T T max|d| max|dy| λ_p λ_q,   λ_p = Σ_a |G_ap| β_a α_a,
// e_T = 2u + u² + (T + threads + 2) 2^-24 (the per-thread sums are added at the end).
// From the matrices of winograd_transforms.h, in exact fractions:
//   F4x3: β = (10,10,10,6,6,10), γ = (1/4,1/2,1/2,7/24,7/24,1), α = (1,4,4,15,15,1),
//         κ = (16, 17, 24, 48), λ = (70/3, 85/3, 160/3);
//   F4x5: β = (25/2,25/2,25/2,15/2,15/2,15,15,25/2), γ = (1,10/9,10/9,31/90,31/90,62/45,62/45,1),
//         α = (1,4,4,15,15,15/8,15/8,1), κ = (781/9, 529/9, 529/9, 781/9), λ = (695/9, 425/9,
//         380/9, 425/9, 695/9).
// The test takes the largest κ and λ (every output position, every filter tap). This is a
// worst case (every product's rounding aligned, no cancellation): random data sit far below it;
// what shows the bound is not vacuous is test 3 (exact inputs, sharp bound) and the lowering's
// bound failing here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "bf16_testing.h"
#include "backend/cpu/conv.h"
#include "backend/cpu/conv_winograd.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/gemm_bf16.h"
#include "backend/cpu/threads.h"
#include "backend/cpu/winograd_bf16.h"
#include "tensor/rng.h"

using namespace kiln;

namespace {

using kiln::testing::Bf16On;
using kiln::testing::kU;
using kiln::testing::kU32;
using kiln::testing::random_vector;

constexpr double kWinogradFp32 = 2e-5;  // the fp32 Winograd kernels' norm-wise bound (conv_pool_test.cpp)

// Uniform integers in [-m, m].
std::vector<float> random_integers(int64_t n, Rng& rng, int m) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(std::min<int64_t>(m, static_cast<int64_t>(std::floor(rng.uniform(-m, m + 1)))));
  return v;
}
double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::abs(x)));
  return m;
}
// max |got - ref| (the worst element in *at).
double max_error(const std::vector<float>& got, const std::vector<float>& ref, size_t* at = nullptr) {
  double m = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::abs(static_cast<double>(got[i]) - ref[i]);
    if (!(e <= m)) {  // NaN counts as the worst
      m = std::isnan(e) ? INFINITY : e;
      if (at) *at = i;
    }
  }
  return m;
}

}  // namespace

// Test 1. Both uses of the pair GEMM: the forward's M (tiles, K) = V (tiles, C) U (C, K), V
// paired along its rows' C and U across its rows, and dL/dw's dU (C, K) += Vᵀ dM with both
// paired across the tiles (odd counts: the zero high half of the last pair). Only the fp32
// summation differs from the naive bf16 GEMM: (R + 2) 2^-24 Σ|â||b̂| (gemm_bf16.h).
TEST(Bf16Winograd, PairGemmMatchesTheNaiveBf16Gemm) {
  KILN_NEED_BF16();
  struct Size {
    int64_t T, C, K;
  };
  const Size sizes[] = {{1, 16, 16}, {7, 32, 48}, {13, 48, 16}, {40, 64, 80}, {6, 16, 112}, {101, 160, 32}};
  Rng rng(41);
  bool planted_seen = true;
  for (const Size& s : sizes) {
    SCOPED_TRACE(::testing::Message() << "T " << s.T << " C " << s.C << " K " << s.K);
    const int64_t ldv = s.C + 16;  // padded rows, as the kernels' blocks are
    const std::vector<float> V = random_vector(s.T * ldv, rng), U = random_vector(s.C * s.K, rng),
                             dM = random_vector(s.T * s.K, rng);
    std::vector<uint32_t> Vp(s.T * s.C / 2), Up(s.C / 2 * s.K), Vt((s.T + 1) / 2 * s.C), dMt((s.T + 1) / 2 * s.K);
    cpu::winograd::pack_pairs_in_rows(V.data(), ldv, s.T, s.C, Vp.data());
    cpu::winograd::pack_pairs_across_rows(U.data(), s.K, s.C, s.K, Up.data());
    cpu::winograd::pack_pairs_across_rows(V.data(), ldv, s.T, s.C, Vt.data());
    cpu::winograd::pack_pairs_across_rows(dM.data(), s.K, s.T, s.K, dMt.data());
    std::vector<float> absV(V.size()), absU(U.size()), absdM(dM.size());
    for (size_t i = 0; i < V.size(); ++i) absV[i] = std::abs(cpu::round_bf16(V[i]));
    for (size_t i = 0; i < U.size(); ++i) absU[i] = std::abs(cpu::round_bf16(U[i]));
    for (size_t i = 0; i < dM.size(); ++i) absdM[i] = std::abs(cpu::round_bf16(dM[i]));
    auto check = [&](const std::vector<float>& got, const std::vector<float>& ref, const std::vector<float>& sum_abs,
                     int64_t R) {
      for (size_t i = 0; i < got.size(); ++i)
        if (!(std::abs(static_cast<double>(got[i]) - ref[i]) <= (R + 2) * kU32 * sum_abs[i] + 4 * kU32))
          return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", reference " << ref[i];
      return ::testing::AssertionSuccess();
    };
    // Forward: M = V U.
    std::vector<float> M(s.T * s.K), Mn(M.size()), Ms(M.size()), Mbad(M.size());
    cpu::winograd::gemm_pairs(Vp.data(), s.C / 2, 1, s.T, s.C / 2, Up.data(), s.K, s.K, M.data(), s.K, false);
    cpu::gemm_bf16_naive(false, false, s.T, s.K, s.C, 1.f, V.data(), ldv, U.data(), s.K, 0.f, Mn.data(), s.K);
    cpu::gemm_naive(false, false, s.T, s.K, s.C, 1.f, absV.data(), ldv, absU.data(), s.K, 0.f, Ms.data(), s.K);
    EXPECT_TRUE(check(M, Mn, Ms, s.C)) << "M = V U";
    // Planted bug: the last pair of channels dropped (the tail a pair packing could lose).
    cpu::winograd::gemm_pairs(Vp.data(), s.C / 2, 1, s.T, s.C / 2 - 1, Up.data(), s.K, s.K, Mbad.data(), s.K, false);
    planted_seen = planted_seen && !check(Mbad, Mn, Ms, s.C);
    // dL/dw: dU = D + Vᵀ dM, accumulating onto D.
    const std::vector<float> D = random_vector(s.C * s.K, rng);
    std::vector<float> dU = D, dUn = D, dUs(D.size());
    cpu::winograd::gemm_pairs(Vt.data(), 1, s.C, s.C, (s.T + 1) / 2, dMt.data(), s.K, s.K, dU.data(), s.K, true);
    cpu::gemm_bf16_naive(true, false, s.C, s.K, s.T, 1.f, V.data(), ldv, dM.data(), s.K, 1.f, dUn.data(), s.K);
    cpu::gemm_naive(true, false, s.C, s.K, s.T, 1.f, absV.data(), ldv, absdM.data(), s.K, 0.f, dUs.data(), s.K);
    EXPECT_TRUE(check(dU, dUn, dUs, s.T + 1)) << "dU += Vᵀ dM";
  }
  EXPECT_TRUE(planted_seen) << "a GEMM missing one pair of its sum passed the bound";
}

namespace {

struct Case {
  int64_t N, C, H, W, K, R, pad;
};

// The passes under bf16 through conv.cpp's seam; checks that they are the Winograd kernels'
// (bit for bit the same as calling them directly with bf16 products).
struct Passes {
  std::vector<float> y, dx, dw, db;
};
Passes run_bf16(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                const std::vector<float>& dy, const ConvDims& d) {
  Bf16On on;
  Passes p{std::vector<float>(static_cast<size_t>(d.N * d.K * d.pq())), std::vector<float>(x.size()),
           std::vector<float>(w.size(), 0.f), std::vector<float>(b.size(), 0.f)};
  cpu::conv2d_forward(x.data(), w.data(), b.data(), p.y.data(), d, Epilogue::none);
  cpu::conv2d_backward(x.data(), w.data(), p.y.data(), dy.data(), p.dx.data(), p.dw.data(), p.db.data(), d,
                       Epilogue::none);
  std::vector<float> y2(p.y.size());
  cpu::winograd::conv2d_forward(x.data(), w.data(), b.data(), y2.data(), d, Epilogue::none, true);
  EXPECT_EQ(y2, p.y) << "the bf16 convolution is not the Winograd kernel with bf16 products";
  return p;
}

struct Reference {
  std::vector<float> y, dx, dw, db;
};
Reference naive(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                const std::vector<float>& dy, const ConvDims& d) {
  Reference r{std::vector<float>(static_cast<size_t>(d.N * d.K * d.pq())), std::vector<float>(x.size()),
              std::vector<float>(w.size(), 0.f), std::vector<float>(b.size(), 0.f)};
  cpu::conv2d_forward_naive(x.data(), w.data(), b.data(), r.y.data(), d);
  cpu::conv2d_backward_naive(x.data(), w.data(), dy.data(), r.dx.data(), r.dw.data(), r.db.data(), d);
  return r;
}

}  // namespace

// Test 2: the derived bound, on the VGG net's 3x3 shapes (scaled down) and the seed CNNs' 5x5
// 16 -> 16 layer, with partial tiles, no padding and batch 1.
TEST(Bf16Winograd, PassesWithinTheDerivedBound) {
  KILN_NEED_BF16();
  const Case cases[] = {{2, 32, 8, 8, 32, 3, 1},  {1, 16, 7, 9, 48, 3, 1},   {3, 64, 6, 6, 16, 3, 0},
                        {2, 16, 16, 16, 16, 5, 2}, {2, 16, 11, 6, 32, 5, 0}, {1, 32, 7, 9, 16, 5, 1}};
  Rng rng(43);
  bool above_lowering_bound = false;
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.C << "->" << c.K << " " << c.R << "x" << c.R << " " << c.H << "x" << c.W
                                      << " pad " << c.pad << " N " << c.N);
    const ConvDims d = conv_dims(c.N, c.C, c.H, c.W, c.K, c.R, c.R, 1, c.pad);
    ASSERT_TRUE(cpu::winograd::supported(d));
    const std::vector<float> x = random_vector(d.N * d.C * d.H * d.W, rng), w = random_vector(d.K * d.crs(), rng),
                             b = random_vector(d.K, rng), dy = random_vector(d.N * d.K * d.pq(), rng);
    const Passes got = run_bf16(x, w, b, dy, d);
    const Reference ref = naive(x, w, b, dy, d);
    const double kappa = c.R == 3 ? 48.0 : 781.0 / 9, lambda = c.R == 3 ? 160.0 / 3 : 695.0 / 9;
    const int64_t tiles = d.N * ((d.P + 3) / 4) * ((d.Q + 3) / 4);
    auto e = [](int64_t terms) { return 2 * kU + kU * kU + (terms + 2) * kU32; };
    const double mx = max_abs(x), mw = max_abs(w), mdy = max_abs(dy);
    const double y_bound = e(d.C) * d.C * mx * mw * kappa * kappa + kWinogradFp32 * max_abs(ref.y);
    const double dx_bound = e(d.K) * d.K * mdy * mw * kappa * kappa + kWinogradFp32 * max_abs(ref.dx);
    const double dw_bound = e(tiles + cpu::thread_count()) * tiles * mx * mdy * lambda * lambda + kWinogradFp32 * max_abs(ref.dw);
    const double y_err = max_error(got.y, ref.y), dx_err = max_error(got.dx, ref.dx), dw_err = max_error(got.dw, ref.dw);
    EXPECT_LE(y_err, y_bound) << "forward";
    EXPECT_LE(dx_err, dx_bound) << "dL/dx";
    EXPECT_LE(dw_err, dw_bound) << "dL/dw";
    EXPECT_LE(max_error(got.db, ref.db), (tiles * 16 + 2) * kU32 * mdy * tiles * 16) << "dL/db (fp32 sums)";
    // The error of bf16, not fp32: far above the fp32 kernels' bound.
    EXPECT_GT(y_err, 100 * kWinogradFp32 * max_abs(ref.y)) << "no bf16 rounding seen: is this the fp32 path?";
    // The lowering's bound (bf16_test.cpp), (2u + u² + (C r² + 2) 2^-24) Σ|x̂||ŵ| per output:
    // the Winograd products exceed it somewhere.
    std::vector<float> ax(x.size()), aw(w.size()), y_abs(got.y.size());
    for (size_t i = 0; i < x.size(); ++i) ax[i] = std::abs(cpu::round_bf16(x[i]));
    for (size_t i = 0; i < w.size(); ++i) aw[i] = std::abs(cpu::round_bf16(w[i]));
    cpu::conv2d_forward_naive(ax.data(), aw.data(), nullptr, y_abs.data(), d);
    for (size_t i = 0; i < y_abs.size(); ++i)
      above_lowering_bound = above_lowering_bound || std::abs(static_cast<double>(got.y[i]) - ref.y[i]) >
                                                         e(d.crs()) * y_abs[i] + 4 * kU32 * std::abs(b[i / d.pq() % d.K]);
    std::printf("  %s: error / bound  forward %.3g  dx %.3g  dw %.3g\n",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(), y_err / y_bound, dx_err / dx_bound,
                dw_err / dw_bound);
  }
  EXPECT_TRUE(above_lowering_bound) << "the Winograd error never exceeded the lowering's bound";
}

// Test 3: exact bf16 inputs. x in {-2..2}: |V| <= 10·10·2 = 200, integers, exact in bf16 (8
// significant bits hold the integers up to 256); dy in {-1, 0, 1}: |V| <= 100 for dL/dx, and
// |dM| = |A dY Aᵀ| <= 15·15 = 225 for dL/dw. Filters g = ±v wᵀ with v, w from (1, 0, -1),
// (0, 3, 0), (1, 0, 2) (and their reversals, which dL/dx's rotated filters use: (-1, 0, 1),
// (0, 3, 0), (2, 0, 1)): G v is dyadic with at most 3 significant bits, e.g. G (1, 0, 2) =
// (1/4, -1/2, -1/2, 3/8, 3/8, 2), so U = (G v)(G w)ᵀ has at most 6 and its fp32 value rounds to
// bf16 exactly. Every product is then exact and the bf16 path must be as accurate as the fp32
// kernels: within their norm-wise 2e-5, where an entry of a transform or a channel pair gone
// wrong is off by far more.
TEST(Bf16Winograd, ExactOnInputsThatBf16Holds) {
  KILN_NEED_BF16();
  const Case cases[] = {{2, 32, 8, 8, 32, 3, 1}, {1, 16, 7, 9, 48, 3, 1}, {3, 48, 6, 6, 16, 3, 0}, {13, 16, 4, 4, 16, 3, 2}};
  const float basis[3][3] = {{1, 0, -1}, {0, 3, 0}, {1, 0, 2}};
  Rng rng(47);
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.C << "->" << c.K << " " << c.H << "x" << c.W << " pad " << c.pad << " N "
                                      << c.N);
    const ConvDims d = conv_dims(c.N, c.C, c.H, c.W, c.K, c.R, c.R, 1, c.pad);
    ASSERT_TRUE(cpu::winograd::supported(d));
    const std::vector<float> x = random_integers(d.N * d.C * d.H * d.W, rng, 2), b = random_integers(d.K, rng, 2),
                             dy = random_integers(d.N * d.K * d.pq(), rng, 1);
    std::vector<float> w(static_cast<size_t>(d.K * d.crs()));
    for (int64_t f = 0; f < d.K * d.C; ++f) {
      const int i = static_cast<int>(rng.uniform(0, 3)) % 3, j = static_cast<int>(rng.uniform(0, 3)) % 3;
      const float sign = rng.uniform(0, 1) < 0.5 ? -1.f : 1.f;
      for (int r = 0; r < 3; ++r)
        for (int s = 0; s < 3; ++s) w[static_cast<size_t>(f * 9 + r * 3 + s)] = sign * basis[i][r] * basis[j][s];
    }
    const Passes got = run_bf16(x, w, b, dy, d);
    const Reference ref = naive(x, w, b, dy, d);
    EXPECT_LE(max_error(got.y, ref.y), kWinogradFp32 * max_abs(ref.y)) << "forward";
    EXPECT_LE(max_error(got.dx, ref.dx), kWinogradFp32 * max_abs(ref.dx)) << "dL/dx";
    EXPECT_LE(max_error(got.dw, ref.dw), kWinogradFp32 * max_abs(ref.dw)) << "dL/dw";
  }
}
