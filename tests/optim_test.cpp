// Optimizers against hand-computed updates, and schedules against their formulas.
//
// Two parameters θ = (1, -2), the first a weight (decayed), the second a bias (mask 0), three
// steps with the gradients below, lr = 0.1, μ = 0.9. The expected values were worked out by
// hand from the update rules in optim/optimizer.h; the first steps, for the record:
//   classic:  v = g = 0.5,                 θ = 1 - 0.1·0.5               = 0.95
//   average:  v = 0.1·0.5 = 0.05,          θ = 1 - 0.1·0.05              = 0.995
//   Nesterov: v = 0.5, d = 0.5 + 0.9·0.5,  θ = 1 - 0.1·0.95              = 0.905
//   L2 0.1:   g = 0.5 + 0.1·1 = 0.6,       θ = 1 - 0.06                  = 0.94
//   Adam:     m̂ = 0.5, ŝ = 0.25,           θ = 1 - 0.1·0.5/(0.5 + 1e-8)  ≈ 0.9
//   AdamW:    θ = 1 - 0.1·0.1·1 = 0.99, then the Adam step               ≈ 0.89
#include <gtest/gtest.h>

#include <cmath>

#include "optim/optimizer.h"
#include "optim/schedule.h"

using namespace kiln;

namespace {

const double kGrads[3][2] = {{0.5, 0.2}, {-0.3, 0.1}, {0.8, -0.4}};

struct Trajectory {
  double theta[3][2];
};

// Runs three steps of `c` from θ = (1, -2) and checks every step against `want`.
void expect_trajectory(OptimizerConfig c, const Trajectory& want, const char* what) {
  SCOPED_TRACE(what);
  auto opt = make_optimizer(c, 2);
  Tensor theta({2}), grad({2}), mask({2});
  theta[0] = 1;
  theta[1] = -2;
  mask[0] = 1;  // weight: decayed; bias: not
  for (int t = 0; t < 3; ++t) {
    grad[0] = static_cast<Real>(kGrads[t][0]);
    grad[1] = static_cast<Real>(kGrads[t][1]);
    opt->step(theta, grad, mask, 0.1);
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(theta[i], want.theta[t][i], 2e-6) << "step " << t + 1 << ", θ" << i;
  }
  EXPECT_EQ(opt->steps(), 3);
}

OptimizerConfig sgd(double mu, const char* form = "classic", bool nesterov = false, double wd = 0, bool decoupled = false) {
  OptimizerConfig c;
  c.momentum = mu;
  c.momentum_form = form;
  c.nesterov = nesterov;
  c.weight_decay = wd;
  c.decoupled_decay = decoupled;
  return c;
}

OptimizerConfig adam(const char* name, double wd) {
  OptimizerConfig c;
  c.name = name;
  c.weight_decay = wd;
  return c;
}

}  // namespace

TEST(Optimizer, PlainSgd) { expect_trajectory(sgd(0), {{{0.95, -2.02}, {0.98, -2.03}, {0.9, -1.99}}}, "sgd"); }

TEST(Optimizer, MomentumClassicForm) {
  expect_trajectory(sgd(0.9), {{{0.95, -2.02}, {0.935, -2.048}, {0.8415, -2.0332}}}, "v = μv + g");
}

TEST(Optimizer, MomentumMovingAverageForm) {
  expect_trajectory(sgd(0.9, "average"), {{{0.995, -2.002}, {0.9935, -2.0048}, {0.98415, -2.00332}}},
                    "v = μv + (1-μ)g");
}

TEST(Optimizer, Nesterov) {
  expect_trajectory(sgd(0.9, "classic", true), {{{0.905, -2.038}, {0.9215, -2.0732}, {0.75735, -2.01988}}}, "classic");
  expect_trajectory(sgd(0.9, "average", true), {{{0.9905, -2.0038}, {0.99215, -2.00732}, {0.975735, -2.001988}}},
                    "average");
}

TEST(Optimizer, WeightDecayCoupledAndDecoupledSkipMaskedParameters) {
  // The bias (mask 0) follows the undecayed classic trajectory in both.
  expect_trajectory(sgd(0.9, "classic", false, 0.1), {{{0.94, -2.02}, {0.9066, -2.048}, {0.787474, -2.0332}}}, "L2");
  expect_trajectory(sgd(0.9, "classic", false, 0.1, true), {{{0.94, -2.02}, {0.9156, -2.048}, {0.812944, -2.0332}}},
                    "decoupled");
}

TEST(Optimizer, AdamBiasCorrected) {
  expect_trajectory(adam("adam", 0), {{{0.900000002, -2.099999995}, {0.8808501989, -2.193217953}, {0.8204965637, -2.172582251}}},
                    "adam");
  expect_trajectory(adam("adam", 0.1),
                    {{{0.9000000017, -2.099999995}, {0.8613529972, -2.193217953}, {0.7920270511, -2.172582251}}},
                    "adam + L2");
}

TEST(Optimizer, AdamW) {
  expect_trajectory(adam("adamw", 0.1),
                    {{{0.890000002, -2.099999995}, {0.8619501989, -2.193217953}, {0.7929770617, -2.172582251}}}, "adamw");
}

// Saved after one step and loaded into a fresh optimizer, the state continues the same
// trajectory; loading into another kind of optimizer is refused.
TEST(Optimizer, StateRoundTrips) {
  for (const OptimizerConfig& c : {sgd(0.9, "average", true), adam("adamw", 0.1)}) {
    auto a = make_optimizer(c, 2), b = make_optimizer(c, 2);
    Tensor ta({2}), tb({2}), g({2}), mask({2});
    mask[0] = 1;
    ta[0] = tb[0] = 1;
    g[0] = 0.5;
    g[1] = -0.2;
    a->step(ta, g, mask, 0.1);
    b->step(tb, g, mask, 0.1);
    const std::string path = ::testing::TempDir() + "/kiln-opt-state.bin";
    BinWriter w;
    a->save_state(w);
    w.commit(path);
    auto c2 = make_optimizer(c, 2);
    BinReader r(path, "optimizer state");
    c2->load_state(r);
    EXPECT_TRUE(r.at_end());
    EXPECT_EQ(c2->steps(), 1);
    c2->step(ta, g, mask, 0.1);
    b->step(tb, g, mask, 0.1);
    EXPECT_EQ(ta[0], tb[0]);
    EXPECT_EQ(ta[1], tb[1]);
    auto other = make_optimizer(c.name == "sgd" ? adam("adam", 0) : sgd(0.9), 2);
    BinReader r2(path, "optimizer state");
    EXPECT_THROW(other->load_state(r2), Error);
  }
}

TEST(Optimizer, BadSettingsNameTheKey) {
  auto error_of = [](OptimizerConfig c) -> std::string {
    try {
      make_optimizer(c, 1);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  OptimizerConfig c;
  c.name = "rmsprop";
  EXPECT_NE(error_of(c).find("optimizer.name"), std::string::npos);
  EXPECT_NE(error_of(sgd(1.5)).find("optimizer.momentum"), std::string::npos);
  EXPECT_NE(error_of(sgd(0.9, "ema")).find("optimizer.momentum_form"), std::string::npos);
  EXPECT_NE(error_of(sgd(0, "classic", true)).find("optimizer.nesterov"), std::string::npos);
  EXPECT_NE(error_of(sgd(0.9, "classic", false, -1)).find("optimizer.weight_decay"), std::string::npos);
}

// ---- schedules: the rate at chosen steps against the formulas in optim/schedule.h ----

namespace {

ScheduleConfig schedule(const char* name, double lr = 0.1, int64_t epochs = 10) {
  ScheduleConfig c;
  c.name = name;
  c.lr = lr;
  c.total_epochs = epochs;
  return c;
}

constexpr int64_t B = 10;  // batches per epoch
constexpr double kPi = 3.14159265358979323846;

}  // namespace

TEST(Schedule, Constant) {
  auto s = make_schedule(schedule("constant"));
  for (int64_t t : {0, 7, 99}) EXPECT_DOUBLE_EQ(s->lr(t, B), 0.1);
}

TEST(Schedule, StepDropsEveryStepEpochs) {
  ScheduleConfig c = schedule("step");
  c.step_epochs = 2;
  c.gamma = 0.5;
  auto s = make_schedule(c);
  EXPECT_DOUBLE_EQ(s->lr(0, B), 0.1);
  EXPECT_DOUBLE_EQ(s->lr(19, B), 0.1);   // epoch 1
  EXPECT_DOUBLE_EQ(s->lr(20, B), 0.05);  // epoch 2: first drop
  EXPECT_DOUBLE_EQ(s->lr(45, B), 0.025); // epoch 4
}

TEST(Schedule, ExponentialPerEpoch) {
  ScheduleConfig c = schedule("exponential");
  c.decay = 0.88;
  auto s = make_schedule(c);
  EXPECT_DOUBLE_EQ(s->lr(9, B), 0.1);
  EXPECT_NEAR(s->lr(30, B), 0.1 * 0.88 * 0.88 * 0.88, 1e-15);
  EXPECT_NEAR(s->lr(39, B), 0.1 * 0.88 * 0.88 * 0.88, 1e-15);
}

TEST(Schedule, CosinePerStep) {
  ScheduleConfig c = schedule("cosine");
  c.min_lr = 0.001;
  auto s = make_schedule(c);  // T = 100 steps
  EXPECT_DOUBLE_EQ(s->lr(0, B), 0.1);
  EXPECT_NEAR(s->lr(50, B), 0.001 + 0.099 / 2, 1e-12);
  EXPECT_NEAR(s->lr(25, B), 0.001 + 0.099 * (1 + std::cos(kPi / 4)) / 2, 1e-12);
  EXPECT_NEAR(s->lr(100, B), 0.001, 1e-12);
}

TEST(Schedule, OneCycleAsPyTorch) {
  ScheduleConfig c = schedule("onecycle");
  c.max_lr = 1;
  c.pct_start = 0.3;
  c.div_factor = 25;
  c.final_div_factor = 1e4;
  auto s = make_schedule(c);  // T = 100: up over steps 0..29, down over 29..99
  EXPECT_NEAR(s->lr(0, B), 0.04, 1e-12);
  EXPECT_NEAR(s->lr(29, B), 1.0, 1e-12);
  EXPECT_NEAR(s->lr(99, B), 0.04 / 1e4, 1e-12);
  EXPECT_NEAR(s->lr(64, B), (1 + 4e-6) / 2, 1e-12);              // half-way down
  EXPECT_NEAR(s->lr(14, B), 0.04 + 0.96 * (1 - std::cos(kPi * 14 / 29)) / 2, 1e-12);
  c.max_lr = 0;  // the peak defaults to the base rate
  EXPECT_NEAR(make_schedule(c)->lr(29, B), 0.1, 1e-12);
}

// airbench94's triangle(total, start=0.2, end=0.07, peak=0.23) times its base rate, worked by
// hand for T = 100: P = 23, up by 1.2/23 a step from 0.3, then down by 1.395/77 a step.
TEST(Schedule, TriangleAsAirbench) {
  ScheduleConfig c = schedule("triangle");
  c.max_lr = 1.5;
  c.pct_start = 0.23;
  c.div_factor = 5;                 // start 0.3 = 0.2 of the peak
  c.final_div_factor = 0.2 / 0.07;  // end 0.105 = 0.07 of the peak
  auto s = make_schedule(c);
  EXPECT_NEAR(s->lr(0, B), 0.3, 1e-12);
  EXPECT_NEAR(s->lr(10, B), 0.3 + 1.2 * 10 / 23, 1e-12);
  EXPECT_NEAR(s->lr(23, B), 1.5, 1e-12);
  EXPECT_NEAR(s->lr(50, B), 1.5 - 1.395 * 27 / 77, 1e-12);
  EXPECT_NEAR(s->lr(99, B), 1.5 - 1.395 * 76 / 77, 1e-12);  // the last step: end (0.105) is at T
  c.warmup_epochs = 5;  // rises by itself: the general warm-up does not apply
  EXPECT_NEAR(make_schedule(c)->lr(0, B), 0.3, 1e-12);
}

TEST(Schedule, LinearWarmup) {
  ScheduleConfig c = schedule("warmup");
  c.warmup_epochs = 1;
  auto s = make_schedule(c);
  EXPECT_NEAR(s->lr(0, B), 0.01, 1e-15);
  EXPECT_NEAR(s->lr(4, B), 0.05, 1e-15);
  EXPECT_NEAR(s->lr(9, B), 0.1, 1e-15);
  EXPECT_NEAR(s->lr(10, B), 0.1, 1e-15);
  // Warm-up multiplies other schedules too.
  c.name = "exponential";
  c.decay = 0.5;
  c.warmup_epochs = 2;
  EXPECT_NEAR(make_schedule(c)->lr(14, B), 0.1 * 0.5 * 15.0 / 20.0, 1e-15);
}

TEST(Schedule, BadSettingsNameTheKey) {
  auto error_of = [](ScheduleConfig c) -> std::string {
    try {
      make_schedule(c);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of(schedule("linear")).find("schedule.name"), std::string::npos);
  EXPECT_NE(error_of(schedule("constant", -1)).find("optimizer.lr"), std::string::npos);
  EXPECT_NE(error_of(schedule("warmup")).find("schedule.warmup_epochs"), std::string::npos);
  ScheduleConfig c = schedule("onecycle");
  c.pct_start = 1.5;
  EXPECT_NE(error_of(c).find("schedule.pct_start"), std::string::npos);
}

// A fractional warm-up (half an epoch of 5 batches: W = 2.5 steps) rises to the base rate and
// never past it: (t + 1) / W alone gives 0.04, 0.08, 0.12 at t = 2.
TEST(Schedule, FractionalWarmupNeverOvershoots) {
  ScheduleConfig c = schedule("constant", 0.1, 2);
  c.warmup_epochs = 0.5;
  auto s = make_schedule(c);
  const int64_t batches = 5;
  EXPECT_NEAR(s->lr(0, batches), 0.1 / 2.5, 1e-15);
  EXPECT_NEAR(s->lr(1, batches), 0.2 / 2.5, 1e-15);
  for (int64_t t = 0; t < 10; ++t) EXPECT_LE(s->lr(t, batches), 0.1) << "step " << t;
  EXPECT_DOUBLE_EQ(s->lr(2, batches), 0.1);
}
