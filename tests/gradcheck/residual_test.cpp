// Gradient checks (double precision build) of a residual block with an MLP body, and of a
// whole MLP with dropout and batch norm, in eval and training mode. (The conv-based residual
// checks belong with the convolution layer.)
#include <gtest/gtest.h>

#include <functional>
#include <ostream>

#include "gradcheck/gradcheck.h"
#include "layers/residual.h"
#include "loss/loss.h"
#include "layers/registry.h"
#include "model/build.h"

using namespace kiln;

namespace kiln {
void PrintTo(Mode m, std::ostream* os) { *os << (m == Mode::eval ? "eval" : "train"); }
}  // namespace kiln

static const Pass kTrain{Mode::train, 5, 2};

// Every parameter of a layer tree (check_layer only sees the layer's own params(), and a
// residual block holds its parameters in its children).
static std::vector<Param> all_params(Layer& l) {
  std::vector<Param> out = l.params();
  for (Layer* c : l.children()) {
    auto p = all_params(*c);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

TEST(GradCheckResidual, MlpBodyIdentitySkip) {
  uint64_t stream = 0;
  const Shape in{4, 6};
  Sequential net = build_layers({"residual { dense 6; tanh; dense 6 }"}, in, stream);
  ASSERT_EQ(net.size(), 1u);
  Layer& block = net[0];
  EXPECT_EQ(block.spec(), "residual { dense 6; tanh; dense 6 }");
  EXPECT_EQ(block.output_shape(in), in);
  Rng init(3);
  block.init(init);

  // L = Σ r ⊙ y with a fixed random r; probes: the input and every parameter of the body.
  Rng rng(9);
  Tensor x(in), y(in), r(in), dx(in);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
  for (int64_t i = 0; i < r.numel(); ++i) r[i] = static_cast<Real>(rng.uniform(-1, 1));
  auto loss = [&] {
    block.forward(x, y, kTrain);
    double s = 0;
    for (int64_t i = 0; i < y.numel(); ++i) s += static_cast<double>(r[i]) * y[i];
    return s;
  };
  auto params = all_params(block);
  ASSERT_EQ(params.size(), 4u);  // two weights, two biases
  for (auto& p : params) p.grad->zero();
  loss();
  block.backward(x, y, r, &dx);
  std::vector<GradProbe> probes{{"input", x, dx.clone()}};
  for (auto& p : params) probes.push_back({p.name, *p.value, p.grad->clone()});
  auto res = check_gradients(loss, probes);
  EXPECT_TRUE(res.ok) << res.report();
  EXPECT_EQ(res.checked, 4 * 6 + 2 * (6 * 6 + 6));

  // The generic layer check sees the same input gradient (body + identity skip).
  auto via_layer = check_layer(block, in, kTrain);
  EXPECT_TRUE(via_layer.ok) << via_layer.report();
}

TEST(GradCheckResidual, MlpBodyInModel) {
  Model model = build_model({6}, {"dense 6", "residual { dense 6; tanh; dense 6 }", "dense 3"}, 4);
  Rng rng(2);
  Tensor x({5, 6});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
  std::vector<int32_t> labels{0, 2, 1, 1, 0};
  SoftmaxCrossEntropy loss;
  auto r = check_model(model, loss, x, {labels}, kTrain);
  EXPECT_TRUE(r.ok) << r.report();
  EXPECT_EQ(r.checked, model.param_count());
}

class MlpWithDropoutAndBn : public ::testing::TestWithParam<Mode> {};

TEST_P(MlpWithDropoutAndBn, WholeNetwork) {
  Model model = build_model({12}, {"dense 16", "relu", "dropout 0.3", "dense 8", "bn", "tanh", "dense 4"}, 21);
  Rng rng(6);
  Tensor x({8, 12});
  std::vector<int32_t> labels{0, 1, 2, 3, 3, 2, 1, 0};
  // Running statistics away from their init, so eval mode exercises them.
  for (int step = 0; step < 3; ++step) {
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
    model.forward(x, {Mode::train, 1, step});
  }
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
  SoftmaxCrossEntropy loss;
  // In training the dropout mask is fixed by (seed, step) across the finite differences and
  // batch norm uses the batch statistics.
  auto r = check_model(model, loss, x, {labels}, {GetParam(), 13, 4});
  EXPECT_TRUE(r.ok) << r.report();
  EXPECT_EQ(r.checked, model.param_count());
}

INSTANTIATE_TEST_SUITE_P(Modes, MlpWithDropoutAndBn, ::testing::Values(Mode::eval, Mode::train),
                         [](const ::testing::TestParamInfo<Mode>& i) {
                           return std::string(i.param == Mode::eval ? "Eval" : "Train");
                         });
