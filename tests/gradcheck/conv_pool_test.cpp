// Gradient checks (double precision build) of Conv2d and the pooling layers, and the planted
// bugs they must catch: an off-by-one padding in the conv input gradient, a max-pool gradient
// routed to the wrong window element.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "backend/cpu/conv.h"
#include "backend/cpu/pool.h"
#include "backend/ops.h"
#include "backend/ops_conv.h"
#include "gradcheck/gradcheck.h"
#include "layers/conv2d.h"
#include "layers/pool.h"

using namespace kiln;

static const Pass kTrain{Mode::train, 1, 0};

struct ConvCase {
  const char* name;
  int64_t C, K, R, S, stride, pad;
  bool bias;
  Shape in;
};

TEST(GradCheck, Conv2d) {
  const ConvCase cases[] = {
      {"1x1", 3, 4, 1, 1, 1, 0, true, {2, 3, 5, 5}},
      {"3x3 pad 1", 2, 3, 3, 3, 1, 1, true, {2, 2, 5, 6}},
      {"5x5 pad 2", 2, 3, 5, 5, 1, 2, true, {2, 2, 6, 7}},
      {"stride 2", 2, 3, 3, 3, 2, 1, true, {2, 2, 7, 6}},
      {"stride 2 no pad", 2, 2, 2, 2, 2, 0, true, {2, 2, 5, 5}},
      {"3x2 kernel", 2, 3, 3, 2, 1, 1, true, {2, 2, 5, 6}},
      {"no bias", 2, 3, 3, 3, 1, 1, false, {2, 2, 5, 5}},
      {"batch 1", 2, 3, 3, 3, 1, 1, true, {1, 2, 6, 5}},
      {"C=3 -> K=4", 3, 4, 3, 3, 1, 1, true, {2, 3, 5, 5}},
      {"pad larger than half the kernel", 1, 2, 3, 3, 1, 2, true, {2, 1, 4, 4}},
  };
  for (const auto& c : cases) {
    Conv2d conv(c.C, c.K, c.R, c.S, c.stride, c.pad, c.bias);
    Rng rng(7);
    conv.init(rng);
    auto r = check_layer(conv, c.in, kTrain);
    EXPECT_TRUE(r.ok) << c.name << " (" << conv.spec() << "): " << r.report();
    // Every element of the input and the parameters (up to the checker's 200 per tensor).
    EXPECT_EQ(r.checked, std::min<int64_t>(c.in.numel(), 200) + std::min<int64_t>(c.K * c.C * c.R * c.S, 200) +
                             (c.bias ? c.K : 0))
        << c.name;
  }
}

TEST(GradCheck, Conv2dInSeveralChunks) {
  // One sample's workspace is (C·R·S + K)·P·Q = (2·9 + 3)·25 reals: room for two samples of five.
  const int64_t old = cpu::set_conv_chunk_bytes(2 * 21 * 25 * static_cast<int64_t>(sizeof(Real)));
  Conv2d conv(2, 3, 3, 3, 1, 1, true);
  Rng rng(7);
  conv.init(rng);
  auto r = check_layer(conv, {5, 2, 5, 5}, kTrain);
  cpu::set_conv_chunk_bytes(old);
  EXPECT_TRUE(r.ok) << r.report();
}

// Distinct input values 0.05 apart, so every window has one clear max that the finite
// difference steps cannot change.
static void distinct_values(Tensor& x) {
  std::vector<int64_t> perm(static_cast<size_t>(x.numel()));
  std::iota(perm.begin(), perm.end(), 0);
  Rng rng(11);
  for (int64_t i = x.numel() - 1; i > 0; --i)
    std::swap(perm[static_cast<size_t>(i)], perm[rng.below(static_cast<uint64_t>(i) + 1)]);
  for (int64_t i = 0; i < x.numel(); ++i)
    x[i] = static_cast<Real>(0.05 * static_cast<double>(perm[static_cast<size_t>(i)] - x.numel() / 2));
}

TEST(GradCheck, MaxPool2d) {
  MaxPool2d a(2), b(3, 2), c(2, 1);
  for (MaxPool2d* l : {&a, &b, &c}) {
    auto r = check_layer(*l, {2, 3, 7, 6}, kTrain, {}, distinct_values);
    EXPECT_TRUE(r.ok) << l->spec() << ": " << r.report();
  }
}

TEST(GradCheck, AvgPool2d) {
  AvgPool2d a(2), b(3, 2), c(2, 1);
  for (AvgPool2d* l : {&a, &b, &c}) {
    auto r = check_layer(*l, {2, 3, 7, 6}, kTrain);
    EXPECT_TRUE(r.ok) << l->spec() << ": " << r.report();
  }
}

TEST(GradCheck, GlobalAvgPool) {
  GlobalAvgPool gap;
  auto r = check_layer(gap, {2, 3, 5, 4}, kTrain);
  EXPECT_TRUE(r.ok) << r.report();
  auto r1 = check_layer(gap, {1, 2, 1, 1}, kTrain);
  EXPECT_TRUE(r1.ok) << r1.report();
}

// A conv whose input gradient scatters the columns back with the padding off by `shift`: each
// column entry lands one pixel away from the pixel it was read from.
class ShiftedPadConv : public Conv2d {
 public:
  ShiftedPadConv(int64_t C, int64_t K, int64_t R, int64_t S, int64_t stride, int64_t pad, int64_t shift)
      : Conv2d(C, K, R, S, stride, pad, true), shift_(shift) {}
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override {
    Conv2d::backward(x, y, dy, nullptr);
    ConvDims d = conv_dims(x.dim(0), C_, x.dim(2), x.dim(3), K_, R_, S_, stride_, pad_);
    Tensor dymat({K_, d.N * d.pq()}), dcols({d.crs(), d.N * d.pq()});
    cpu::nchw_to_cols(dy.data(), dymat.data(), d.N, K_, d.pq());
    ops::matmul(true, false, Real(1), weight_, dymat, Real(0), dcols);
    dx->zero();
    d.pad += shift_;  // bug: should be pad_
    cpu::col2im(dcols.data(), dx->data(), d);
  }

 private:
  int64_t shift_;
};

TEST(GradCheckCatches, OffByOnePaddingInConvInputGradient) {
  for (int64_t shift : {-1, 1}) {
    ShiftedPadConv conv(2, 3, 3, 3, 1, 1, shift);
    Rng rng(1);
    conv.init(rng);
    auto r = check_layer(conv, {2, 2, 5, 5}, kTrain);
    EXPECT_FALSE(r.ok) << "pad " << shift << ": the planted bug went unnoticed: " << r.report();
    // The parameter gradients are right: only the input gradient may fail.
    EXPECT_NE(r.worst.find("input"), std::string::npos) << r.report();
  }
}

// A max pool that routes each gradient to the window element after the argmax.
class WrongElementMaxPool : public MaxPool2d {
 public:
  WrongElementMaxPool() : MaxPool2d(2) {}
  void forward(const Tensor& x, Tensor& y, const Pass&) override {
    argmax_.resize(static_cast<size_t>(y.numel()));
    cpu::maxpool_forward(x.data(), y.data(), argmax_.data(), dims(x));
  }
  void backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) override {
    std::vector<uint8_t> wrong(argmax_);
    for (auto& a : wrong) a = static_cast<uint8_t>((a + 1) % 4);  // bug: the neighbour of the max
    cpu::maxpool_backward(dy.data(), wrong.data(), dx->data(), dims(x));
  }

 private:
  static PoolDims dims(const Tensor& x) { return pool_dims(x.dim(0), x.dim(1), x.dim(2), x.dim(3), 2, 2); }
  std::vector<uint8_t> argmax_;
};

TEST(GradCheckCatches, MaxPoolGradientToTheWrongElement) {
  WrongElementMaxPool pool;
  auto r = check_layer(pool, {2, 2, 4, 4}, kTrain, {}, distinct_values);
  EXPECT_FALSE(r.ok) << "the planted bug went unnoticed: " << r.report();
}
