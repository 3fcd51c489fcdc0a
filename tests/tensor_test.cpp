#include <gtest/gtest.h>

#include "backend/cpu/gemm.h"
#include "backend/ops.h"
#include "tensor/rng.h"
#include "tensor/tensor.h"

using namespace kiln;

TEST(Tensor, AlignedZeroedAndShaped) {
  Tensor t({2, 3, 5, 7});
  EXPECT_EQ(t.numel(), 210);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t[i], 0);
  EXPECT_EQ(t.shape().str(), "[2, 3, 5, 7]");
}

TEST(Tensor, ShapeErrorsNameBothShapes) {
  Tensor a({2, 3}), b({3, 2});
  try {
    check_same_shape(a, b, "test");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[3, 2]"), std::string::npos);
  }
  EXPECT_THROW(a.reshape({7}), Error);
}

TEST(Tensor, ViewsShareStorageCloneDoesNot) {
  Tensor a({4, 4});
  Tensor v = a.slice(4, {4});
  v[0] = 3;
  EXPECT_EQ(a[4], 3);
  Tensor c = a.clone();
  c[4] = 5;
  EXPECT_EQ(a[4], 3);
}

TEST(Tensor, EnsureKeepsStorageWhenItFits) {
  Tensor a({8, 8});
  const Real* p = a.data();
  a.ensure({4, 8});
  EXPECT_EQ(a.data(), p);
  a.ensure({16, 8});
  EXPECT_NE(a.shape().numel(), 32);
}

TEST(Rng, DeterministicAndResumable) {
  Rng a(42), b(42);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  auto st = a.state();
  double x = a.uniform();
  Rng c;
  c.set_state(st);
  EXPECT_EQ(c.uniform(), x);
  double mean = 0;
  for (int i = 0; i < 20000; ++i) mean += a.normal();
  EXPECT_NEAR(mean / 20000, 0.0, 0.03);
}

// The BLAS path against the naive reference, on odd shapes and every transpose combination.
TEST(Gemm, BlasMatchesNaive) {
  Rng rng(7);
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {64, 10, 784}}) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        std::vector<Real> A(static_cast<size_t>(M * K)), B(static_cast<size_t>(K * N)), C1(static_cast<size_t>(M * N)), C2;
        for (auto& v : A) v = static_cast<Real>(rng.uniform(-1, 1));
        for (auto& v : B) v = static_cast<Real>(rng.uniform(-1, 1));
        for (auto& v : C1) v = static_cast<Real>(rng.uniform(-1, 1));
        C2 = C1;
        const int64_t lda = ta ? M : K, ldb = tb ? K : N;
        cpu::gemm(ta, tb, M, N, K, Real(0.5), A.data(), lda, B.data(), ldb, Real(2), C1.data(), N);
        cpu::gemm_naive(ta, tb, M, N, K, Real(0.5), A.data(), lda, B.data(), ldb, Real(2), C2.data(), N);
        for (size_t i = 0; i < C1.size(); ++i) EXPECT_NEAR(C1[i], C2[i], 1e-4 + 1e-4 * std::abs(C2[i]));
      }
  }
}

TEST(Ops, MatmulChecksShapes) {
  Tensor A({2, 3}), B({4, 5}), C({2, 5});
  EXPECT_THROW(ops::matmul(false, false, 1, A, B, 0, C), Error);
}
