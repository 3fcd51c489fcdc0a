// Whole-network gradient checks (double precision build): the seed MNIST CNN, and conv
// residual blocks (conv-BN-ReLU body, identity and 1x1-projection skips) in a small CNN, in
// training mode (batch statistics) and eval mode (running statistics). check_model perturbs
// every parameter tensor of the model (sampled) and compares dL/dθ with central differences.
#include <gtest/gtest.h>

#include "gradcheck/gradcheck.h"
#include "loss/loss.h"
#include "model/build.h"

using namespace kiln;

namespace {

Tensor random_input(const Model& m, int64_t n, uint64_t seed) {
  Tensor x{m.input_shape().batched(n)};
  Rng rng(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
  return x;
}

// Fewer elements per tensor than the layer checks: each one costs a few forwards of the net.
GradCheckOptions sampled(int64_t per_tensor) {
  GradCheckOptions o;
  o.max_elements = per_tensor;
  o.steps = {1e-3, 1e-4, 1e-5};
  return o;
}

}  // namespace

TEST(GradCheckNetwork, SeedMnistCnn) {
  Model model = build_model({1, 28, 28},
                            {"conv 16 5x5 pad=2", "relu", "maxpool 2", "conv 16 5x5 pad=2", "relu", "maxpool 2", "dense 10"}, 1);
  ASSERT_EQ(model.param_count(), 14682);
  Tensor x = random_input(model, 2, 4);
  std::vector<int32_t> labels{3, 7};
  SoftmaxCrossEntropy loss;
  auto r = check_model(model, loss, x, {labels}, {Mode::train, 1, 0}, sampled(30));
  EXPECT_TRUE(r.ok) << r.report();
  EXPECT_EQ(r.checked, 30 + 16 + 30 + 16 + 30 + 10);  // sampled weights, every bias
}

class ConvResidualBlock : public ::testing::TestWithParam<Mode> {};

TEST_P(ConvResidualBlock, IdentityAndProjectionSkips) {
  Model model = build_model({3, 8, 8},
                            {"conv 4 3x3 pad=1", "bn", "relu",
                             "residual { conv 4 3x3 pad=1; bn; relu; conv 4 3x3 pad=1; bn }", "relu",
                             "residual { conv 6 3x3 stride=2 pad=1; bn; relu }", "gap", "dense 3"},
                            5);
  // The second block changes the shape: the builder adds a 1x1 stride-2 projection.
  EXPECT_NE(model.net().spec().find("residual proj"), std::string::npos) << model.net().spec();
  std::vector<int32_t> labels{0, 1, 2, 1};
  // Move the running statistics off their initial values so eval mode exercises them.
  for (int step = 0; step < 3; ++step) model.forward(random_input(model, 4, 10 + step), {Mode::train, 1, step});
  Tensor x = random_input(model, 4, 3);
  SoftmaxCrossEntropy loss;
  auto r = check_model(model, loss, x, {labels}, {GetParam(), 1, 9}, sampled(40));
  EXPECT_TRUE(r.ok) << r.report();
  EXPECT_GT(r.checked, 200);
}

INSTANTIATE_TEST_SUITE_P(Modes, ConvResidualBlock, ::testing::Values(Mode::train, Mode::eval),
                         [](const ::testing::TestParamInfo<Mode>& i) {
                           return std::string(i.param == Mode::eval ? "Eval" : "Train");
                         });
