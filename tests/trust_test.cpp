// The bookkeeping around the math (issue "trust every number"): what a run folder records,
// what a resume keeps and refuses, what a checkpoint may hold, where preprocessing lives.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backend/backend.h"
#include "config/experiment.h"
#include "model/build.h"
#include "synthetic_idx.h"
#include "train/checkpoint.h"
#include "train/run_folder.h"
#include "train/run_report.h"
#include "train/saved_run.h"
#include "train/setup.h"
#include "train/sweep.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace kiln;

namespace {

std::string tiny(const std::string& dir, int epochs, const std::string& extra = "") {
  return "name = \"tiny\"\nseed = 3\n[data]\ndataset = \"idx\"\ndir = \"" + dir + "\"\n" + extra +
         "[model]\nlayers = [\"dense 32\", \"relu\", \"dense 4\"]\n[optimizer]\nname = \"sgd\"\nlr = 0.05\n"
         "momentum = 0.9\n[train]\nbatch_size = 16\nepochs = " + std::to_string(epochs) + "\nlog_every = 4\nthreads = 2\n";
}

TrainOptions quiet(const std::string& runs) {
  TrainOptions o;
  o.runs_dir = runs;
  o.progress = o.epoch_lines = o.write_report = false;
  return o;
}

class Trust : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = kiln::testing::make_synthetic_idx(std::string("trust-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    runs_ = data_ + "/runs";
  }
  void TearDown() override { fs::remove_all(data_); }
  std::string data_, runs_;
};

}  // namespace

// The validation columns of epochs before an interruption survive the resume.
TEST_F(Trust, ResumeKeepsTheValidationHistory) {
  Experiment e = parse_experiment(tiny(data_, 3, "validation = 0.25\n"), "tiny.toml");
  TrainOptions stop = quiet(runs_);
  stop.stop_after_steps = 16;  // 12 batches an epoch (192 of 256 samples): inside the second
  RunResult part = train(e, stop);
  ASSERT_EQ(part.status, RunResult::Status::interrupted) << part.message;
  RunResult rest = resume(part.run_dir, quiet(runs_));
  ASSERT_EQ(rest.status, RunResult::Status::completed) << rest.message;
  const auto rows = read_epoch_csv(part.run_dir + "/metrics.csv");
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& r : rows) {
    EXPECT_TRUE(std::isfinite(r.val_loss)) << "epoch " << r.epoch;
    EXPECT_TRUE(std::isfinite(r.val_acc)) << "epoch " << r.epoch;
  }
}

// A saved model carries its normalisation: evaluating it reproduces the run's own last test
// loss exactly, with a sample limit that made the training statistics differ from the full
// set's, and without the training data.
TEST_F(Trust, EvaluationUsesTheNormalisationSavedWithTheModel) {
  Experiment e = parse_experiment(tiny(data_, 2, "limit_train = 48\n"), "tiny.toml");
  RunResult r = train(e, quiet(runs_));
  ASSERT_EQ(r.status, RunResult::Status::completed) << r.message;
  SavedRun run = open_saved_run(r.run_dir);
  ASSERT_TRUE(run.model.preprocessing().known());
  EXPECT_EQ(run.model.preprocessing().dataset, "idx");
  const SavedEvaluation saved = evaluate_saved(run, "", 0);
  EXPECT_EQ(saved.ev.loss, r.test_loss);  // bit for bit
  EXPECT_EQ(saved.ev.accuracy, r.test_accuracy);
  // A bare weights file, away from its run folder, with the data folder given.
  const std::string copy = data_ + "/alone.kiln";
  fs::copy_file(r.run_dir + "/weights.kiln", copy);
  SavedRun alone = open_saved_run(copy);
  EXPECT_FALSE(alone.experiment);
  EXPECT_EQ(evaluate_saved(alone, data_, 1000).ev.loss, r.test_loss);
}

// One batch an epoch and a rate that blows the weights up in the first update: the loss of that
// batch is still finite (it is computed before the update), so only the weights and the
// epoch's evaluation show it. The checkpoint kept must be the last one whose weights and
// metrics are finite, and the run must say it diverged.
TEST_F(Trust, NonFiniteEpochsAreNeverCheckpointedAsGood) {
  Experiment e = parse_experiment(tiny(data_, 3, "limit_train = 16\n"), "tiny.toml",
                                  {"optimizer.lr=1e38", "optimizer.momentum=0.0"});
  RunResult r = train(e, quiet(runs_));
  ASSERT_EQ(r.status, RunResult::Status::diverged) << r.message;
  Model m = load_model(r.run_dir + "/checkpoint.kiln");
  auto opt = make_optimizer(e.optimizer, m.param_count());
  TrainState st;
  load_checkpoint(r.run_dir + "/checkpoint.kiln", m, *opt, st);
  for (int64_t i = 0; i < m.params().numel(); ++i) ASSERT_TRUE(std::isfinite(m.params()[i])) << i;
  for (const auto& row : st.epochs) {
    EXPECT_TRUE(std::isfinite(row.test_loss)) << "epoch " << row.epoch << " kept with test loss " << row.test_loss;
    EXPECT_TRUE(std::isfinite(row.train_loss)) << "epoch " << row.epoch;
  }
}

// ---- sweeps ----

namespace {

std::vector<std::string> csv_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream is(read_text_file(path));
  for (std::string l; std::getline(is, l);) lines.push_back(l);
  return lines;
}

}  // namespace

// A variant is its whole resolved experiment: run again with other settings, the sweep trains
// the changed variants (it does not report the old numbers as "already finished"), and the
// comparison lists every variant the sweep folder holds, each with its settings.
TEST_F(Trust, ASweepRerunWithOtherSettingsRetrainsAndListsEveryVariant) {
  const std::string file = data_ + "/tiny.toml";
  { std::ofstream(file) << tiny(data_, 1); }
  TrainOptions o = quiet(runs_);
  SweepPlan one = plan_sweep(file, {"optimizer.lr=0.01,0.05"}, {});
  run_sweep(one, o);
  SweepPlan two = plan_sweep(file, {"optimizer.lr=0.01,0.05"}, {"train.epochs=2"});
  std::string dir;
  run_sweep(two, o, &dir);
  const auto lines = csv_lines(dir + "/comparison.csv");
  ASSERT_EQ(lines.size(), 5u) << "a header and four variants";
  int two_epochs = 0;
  for (const auto& l : lines) two_epochs += l.find("train.epochs=2") != std::string::npos;
  EXPECT_EQ(two_epochs, 2);
  int folders = 0;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory() && fs::exists(entry.path() / "weights.kiln")) {
      ++folders;
      EXPECT_TRUE(fs::exists(entry.path() / "report.html") || !o.write_report);
    }
  EXPECT_EQ(folders, 4);
}

// Names that agree in their first hundred characters are still two variants.
TEST_F(Trust, SweepVariantsWithLongSharedNamesStayApart) {
  const std::string exp = data_ + "/tiny.toml", sweep = data_ + "/sweep.toml";
  { std::ofstream(exp) << tiny(data_, 1); }
  const std::string prefix(100, 'v');
  {
    std::ofstream(sweep) << "[sweep]\nexperiment = \"tiny.toml\"\nname = \"long\"\n[[sweep.variant]]\nname = \"" << prefix
                         << "-a\"\nset = [\"optimizer.lr=0.01\"]\n[[sweep.variant]]\nname = \"" << prefix
                         << "-b\"\nset = [\"optimizer.lr=0.05\"]\n";
  }
  std::string dir;
  run_sweep(plan_sweep(sweep, {}, {}), quiet(runs_), &dir);
  const auto lines = csv_lines(dir + "/comparison.csv");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[1], lines[2]);
  EXPECT_NE(lines[1].find("optimizer.lr=0.0"), std::string::npos);
}

// A sweep's name is one folder under --runs, whatever it says.
TEST_F(Trust, ASweepNamedDotDotStaysInTheRunsFolder) {
  const std::string exp = data_ + "/tiny.toml", sweep = data_ + "/dots.toml";
  { std::ofstream(exp) << tiny(data_, 1); }
  { std::ofstream(sweep) << "[sweep]\nexperiment = \"tiny.toml\"\nname = \"..\"\nvary = { \"optimizer.lr\" = [0.01] }\n"; }
  std::string dir;
  run_sweep(plan_sweep(sweep, {}, {}), quiet(runs_), &dir);
  EXPECT_EQ(fs::path(dir).parent_path(), fs::path(runs_));
  EXPECT_FALSE(fs::exists(data_ + "/comparison.csv"));
}

// ---- starts, resumes and what the run folder records ----

// A start that fails (no such data folder, an unknown dataset, a layer typo, CUDA without a
// GPU) leaves no run folder behind.
TEST_F(Trust, FailedStartsLeaveNoRunFolder) {
  const std::vector<std::vector<std::string>> bad = {
      {"data.dir=\"/nonexistent/data\""},
      {"model.layers=[\"dense 32\", \"rleu\", \"dense 4\"]"},
      {"train.device=\"cuda\""},
  };
  for (const auto& o : bad) {
    if (o[0].find("cuda") != std::string::npos && device_available(Device::cuda)) continue;
    std::string msg;
    try {
      train(parse_experiment(tiny(data_, 1), "tiny.toml", o), quiet(runs_));
    } catch (const Error& e) {
      msg = e.what();
    }
    EXPECT_FALSE(msg.empty()) << o[0];
    EXPECT_TRUE(!fs::exists(runs_) || fs::is_empty(runs_)) << o[0] << " left a folder (" << msg << ")";
  }
}

// --resume may extend the epochs; anything else is refused unless asked for, and every session
// and change is recorded; config.toml says what ran.
TEST_F(Trust, ResumeRefusesChangesBeyondMoreEpochsAndRecordsEverySession) {
  Experiment e = parse_experiment(tiny(data_, 1), "tiny.toml");
  TrainOptions o = quiet(runs_);
  o.command = "kiln train tiny.toml";
  RunResult r = train(e, o);
  ASSERT_EQ(r.status, RunResult::Status::completed);
  const std::string config_before = read_text_file(r.run_dir + "/config.toml");
  std::string msg;
  try {
    resume(r.run_dir, quiet(runs_), {"optimizer.lr=0.001"});
  } catch (const Error& err) {
    msg = err.what();
  }
  EXPECT_NE(msg.find("optimizer.lr"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--allow-change"), std::string::npos) << msg;
  EXPECT_EQ(read_text_file(r.run_dir + "/config.toml"), config_before) << "config.toml rewritten for a run that did not happen";
  TrainOptions more = quiet(runs_);
  more.command = "kiln train --resume RUN --set train.epochs=2";
  RunResult r2 = resume(r.run_dir, more, {"train.epochs=2"});
  ASSERT_EQ(r2.status, RunResult::Status::completed) << r2.message;
  EXPECT_EQ(read_epoch_csv(r.run_dir + "/metrics.csv").size(), 2u);
  EXPECT_EQ(load_experiment(r.run_dir + "/config.toml").train.epochs, 2);
  const KeyValues m = read_key_values(r.run_dir + "/manifest.toml");
  auto value = [&](const std::string& k) {
    for (const auto& [key, v] : m)
      if (key == k) return v;
    return std::string();
  };
  EXPECT_EQ(value("threads"), "2");
  EXPECT_EQ(value("device"), "cpu");
  EXPECT_EQ(value("command"), "kiln train tiny.toml");
  EXPECT_NE(value("cpu"), "");
  EXPECT_NE(value("git_revision"), "");
  EXPECT_NE(value("resumed").find("train.epochs: 1 -> 2"), std::string::npos) << value("resumed");
  EXPECT_EQ(value("resumed_command"), "kiln train --resume RUN --set train.epochs=2");
  EXPECT_EQ(value("resumed_threads"), "2");
  // With --allow-change the change goes ahead, recorded.
  TrainOptions allow = quiet(runs_);
  allow.allow_change = true;
  ASSERT_EQ(resume(r.run_dir, allow, {"optimizer.lr=0.001", "train.epochs=3"}).status, RunResult::Status::completed);
  bool recorded = false;
  for (const auto& [key, v] : read_key_values(r.run_dir + "/manifest.toml"))
    recorded = recorded || (key == "resumed" && v.find("optimizer.lr: 0.05 -> 0.001") != std::string::npos);
  EXPECT_TRUE(recorded);
}

// A report exists after every epoch, and `kiln report` works on a run that did not finish.
TEST_F(Trust, InterruptedRunsHaveAReport) {
  Experiment e = parse_experiment(tiny(data_, 3), "tiny.toml");
  TrainOptions stop = quiet(runs_);
  stop.write_report = true;
  stop.stop_after_steps = 20;
  RunResult r = train(e, stop);
  ASSERT_EQ(r.status, RunResult::Status::interrupted);
  EXPECT_TRUE(fs::exists(r.run_dir + "/report.html")) << "no report after the first epoch";
  fs::remove(r.run_dir + "/report.html");
  EXPECT_NO_THROW(write_run_report(r.run_dir));
  EXPECT_TRUE(fs::exists(r.run_dir + "/report.html"));
  for (const char* f : {"gradnorms.csv", "histograms.csv"}) EXPECT_TRUE(fs::exists(r.run_dir + "/" + f)) << f;
}
