// train.precision = "bf16" end to end: a short run on the tiny generated dataset learns as the
// fp32 run does (its loss falls alike), is really a different computation, leaves the process
// in fp32 afterwards, and its run folder evaluates to its own test loss. Skipped on a CPU
// without AVX512-BF16, where the setting is refused with a clear message instead (tested).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "backend/cpu/gemm.h"
#include "backend/cpu/gemm_bf16.h"
#include "config/experiment.h"
#include "synthetic_idx.h"
#include "train/run_folder.h"
#include "train/saved_run.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace kiln;

namespace {

std::string experiment_text(const std::string& dir, const std::string& precision) {
  return "name = \"tiny\"\nseed = 3\n[data]\ndataset = \"idx\"\ndir = \"" + dir +
         "\"\n[model]\nlayers = [\"conv 4 3x3 pad=1\", \"relu\", \"maxpool 2\", \"conv 8 3x3 pad=1\", \"bn\", \"relu\", "
         "\"gap\", \"dense 16\", \"relu\", \"dense 4\"]\n[optimizer]\nname = \"sgd\"\nlr = 0.05\nmomentum = 0.9\n"
         "[train]\nbatch_size = 16\nepochs = 6\nthreads = 2\nprecision = \"" +
         precision + "\"\n";
}

TrainOptions quiet(const std::string& runs) {
  TrainOptions o;
  o.runs_dir = runs;
  o.progress = false;
  o.epoch_lines = false;
  o.write_report = false;
  return o;
}

class Bf16Train : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = kiln::testing::make_synthetic_idx(::testing::UnitTest::GetInstance()->current_test_info()->name());
    runs_ = data_ + "/runs";
  }
  void TearDown() override { fs::remove_all(data_); }
  std::string data_, runs_;
};

}  // namespace

TEST_F(Bf16Train, LossFallsLikeFp32AndTheRunEvaluatesToItsOwnLoss) {
  if (!cpu::bf16_supported()) GTEST_SKIP() << "this CPU has no AVX512-BF16 (vdpbf16ps): nothing to test";
  RunResult f = train(parse_experiment(experiment_text(data_, "fp32"), "fp32.toml"), quiet(runs_));
  RunResult b = train(parse_experiment(experiment_text(data_, "bf16"), "bf16.toml"), quiet(runs_));
  ASSERT_EQ(f.status, RunResult::Status::completed) << f.message;
  ASSERT_EQ(b.status, RunResult::Status::completed) << b.message;
  EXPECT_FALSE(cpu::gemm_bf16_enabled()) << "the run left the process in bf16";
  const auto rf = read_epoch_csv(f.run_dir + "/metrics.csv"), rb = read_epoch_csv(b.run_dir + "/metrics.csv");
  ASSERT_EQ(rf.size(), 6u);
  ASSERT_EQ(rb.size(), 6u);
  EXPECT_NE(rf.back().train_loss, rb.back().train_loss) << "bf16 trained bit for bit as fp32: was it used?";
  for (size_t i = 0; i < rb.size(); ++i) {
    // Falls alike: each epoch's loss within 30% (plus 0.02) of fp32's, on a curve that falls 4x.
    EXPECT_LT(std::abs(rb[i].train_loss - rf[i].train_loss), 0.3 * rf[i].train_loss + 0.02) << "epoch " << i + 1;
  }
  EXPECT_LT(rb.back().train_loss, rb.front().train_loss / 4);
  EXPECT_GT(rb.back().test_acc, rf.back().test_acc - 0.05);
  // The run folder says bf16, and evaluating it (in bf16) reproduces its last test loss.
  SavedRun run = open_saved_run(b.run_dir);
  ASSERT_TRUE(run.experiment);
  EXPECT_EQ(run.experiment->train.precision, "bf16");
  EXPECT_EQ(evaluate_saved(run, "", 0).ev.loss, b.test_loss);
  cpu::set_gemm_bf16(false);
}

TEST(Bf16Config, PrecisionAcceptsBf16AndNamesTheAllowedValues) {
  const std::string model = "[model]\nlayers = [\"dense 4\"]\n";
  EXPECT_EQ(parse_experiment(model + "[train]\nprecision = \"bf16\"\n", "p.toml").train.precision, "bf16");
  try {
    parse_experiment(model + "[train]\nprecision = \"fp16\"\n", "p.toml");
    FAIL() << "fp16 was accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("p.toml"), std::string::npos) << m;
    EXPECT_NE(m.find("bf16"), std::string::npos) << m;
  }
}

// Where the CPU lacks AVX512-BF16 the setting is refused, naming the instruction set and the
// alternative (no silent fp32 in a run whose config says bf16).
TEST(Bf16Config, RefusedWithAClearMessageWithoutAvx512Bf16) {
  if (cpu::bf16_supported()) {
    EXPECT_NO_THROW(cpu::set_gemm_bf16(true));
    cpu::set_gemm_bf16(false);
    return;
  }
  try {
    cpu::set_gemm_bf16(true);
    FAIL() << "bf16 accepted on a CPU without AVX512-BF16";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("AVX512-BF16"), std::string::npos) << e.what();
  }
}
