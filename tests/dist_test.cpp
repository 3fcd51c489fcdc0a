// Data-parallel training: the loader's shards, the local communicator, and end to end under
// mpirun (2 and 3 ranks against one process; one run folder; a killed rank; resume with
// another rank count; a rank that cannot read its data). The mpirun tests run in the release
// build only: under AddressSanitizer Open MPI's own allocations are reported as leaks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "data/loader.h"
#include "dist/comm.h"
#include "loss/loss.h"
#include "model/build.h"
#include "optim/optimizer.h"
#include "train/step.h"
#include "synthetic_idx.h"
#include "train/run_folder.h"
#include "train/saved_run.h"
#include "backend/runtime.h"
#include <iomanip>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;
using namespace kiln;

namespace {

Dataset tiny_dataset(int64_t n) {
  Dataset d;
  d.sample = Shape{1, 2, 2};
  d.source = "tiny";
  for (int64_t i = 0; i < n; ++i) {
    for (int p = 0; p < 4; ++p) d.pixels.push_back(static_cast<uint8_t>((i * 7 + p * 31) % 256));
    d.labels.push_back(static_cast<int32_t>(i % 3));
  }
  return d;
}

}  // namespace

// N ranks' shards of each global batch, in rank order, are exactly one process's batch: the
// same samples, the same augmentation, the same pixels; every rank knows the global size. The
// shards are prepared by the worker for odd ranks and by next() itself for even ones.
TEST(Shards, RanksTogetherReadTheOneProcessBatches) {
  const Dataset d = tiny_dataset(23);  // batches of 8: 8, 8, 7
  const Normalization norm{{0.5}, {0.25}};
  const Augment aug{1, true, 0};
  for (int ranks : {2, 3, 5, 9}) {
    Loader one(d, 8, true, 11, norm, aug);
    std::vector<std::unique_ptr<Loader>> parts;
    for (int r = 0; r < ranks; ++r)
      parts.push_back(std::make_unique<Loader>(d, 8, true, 11, norm, aug, Shard{r, ranks}, r % 2 ? Prepare::worker : Prepare::caller));
    for (auto& p : parts) EXPECT_EQ(p->batches_per_epoch(), one.batches_per_epoch());
    for (int64_t epoch : {0, 2}) {
      one.start_epoch(epoch);
      for (auto& p : parts) p->start_epoch(epoch);
      Batch whole, part;
      while (one.next(whole)) {
        std::vector<int64_t> index;
        std::vector<Real> pixels;
        for (auto& p : parts) {
          ASSERT_TRUE(p->next(part));
          EXPECT_EQ(part.global, static_cast<int64_t>(whole.y.size()));
          EXPECT_EQ(part.offset, static_cast<int64_t>(index.size())) << "where the shard starts in the batch";
          index.insert(index.end(), part.index.begin(), part.index.end());
          pixels.insert(pixels.end(), part.x.data(), part.x.data() + part.x.numel());
        }
        EXPECT_EQ(index, whole.index) << ranks << " ranks";
        EXPECT_EQ(pixels, std::vector<Real>(whole.x.data(), whole.x.data() + whole.x.numel())) << ranks << " ranks";
      }
      for (auto& p : parts) EXPECT_FALSE(p->next(part));
    }
  }
  EXPECT_THROW(Loader(d, 8, true, 1, norm, aug, Shard{2, 2}), Error);
}

TEST(Comm, LocalIsOneRankAndAgreeThrowsItsFailure) {
  auto c = local_comm();
  EXPECT_EQ(c->size(), 1);
  float x[2] = {1.5f, -2};
  c->sum(x, 2);
  EXPECT_EQ(x[0], 1.5f);
  EXPECT_NO_THROW(c->agree(""));
  try {
    c->agree("cannot read /data/x");
    FAIL() << "agree with a failure returned";
  } catch (const AllRanksError& e) {
    EXPECT_STREQ(e.what(), "cannot read /data/x");
  }
}

namespace {

// Rank 0 of 2 whose partner sent zeros: a sum leaves the buffer as it is. It records each
// sum started, and whether the first layer's weight gradient was still untouched then (backward
// had not reached it yet).
struct RecordingComm final : Comm {
  const Tensor* first_layer = nullptr;
  std::vector<std::pair<const float*, int64_t>> started;
  std::vector<bool> first_layer_pending;
  int waits = 0;
  int rank() const override { return 0; }
  int size() const override { return 2; }
  const char* kind() const override { return "recording"; }
  void sum(float*, int64_t) override {}
  void sum(double*, int64_t) override {}
  void start_sum(float* x, int64_t n) override {
    started.emplace_back(x, n);
    bool zero = true;
    for (int64_t i = 0; i < first_layer->numel(); ++i) zero = zero && (*first_layer)[i] == 0;
    first_layer_pending.push_back(zero);
  }
  void start_sum(double*, int64_t) override {}
  void progress() override {}
  void wait_sums() override { ++waits; }
  std::string broadcast(const std::string& s, int) override { return s; }
  std::vector<std::string> gather(const std::string& s) override { return {s, s}; }
  [[noreturn]] void abort(int code) override { std::_Exit(code); }
};

}  // namespace

// The sums overlap backward: a model of two 1 MiB buckets and a bit has its last bucket's sum
// started while the first layer's gradient is still to come; the buckets cover the gradient
// once, from its end; the shard's weight n_r/m scales the gradient before it is summed.
#ifndef KILN_REAL_DOUBLE
TEST(Comm, GradientBucketsStartDuringBackward) {
  Model model = build_model(Shape{64}, {"dense 4096", "relu", "dense 80"}, 1);  // 266,240 + 327,760 parameters
  auto loss = make_loss("softmax_xent");
  OptimizerConfig oc;
  auto opt = make_optimizer(oc, model.param_count());
  RecordingComm comm;
  comm.first_layer = &model.named_params()[0].grad;
  Batch b;
  b.x = Tensor({4, 64}, Device::cpu);
  for (int64_t i = 0; i < b.x.numel(); ++i) b.x[i] = static_cast<Real>((i % 7) - 3);
  b.y = {1, 2, 3, 4};
  b.index = {0, 1, 2, 3};
  b.global = 8;  // this rank holds half of the global batch
  TrainStep alone(model, *loss, *opt, 1);
  alone.run(b, 0, 0);
  const std::vector<Real> g1(model.grads().data(), model.grads().data() + model.param_count());  // a copy
  {
    TrainStep step(model, *loss, *opt, 1);
    step.set_comm(&comm);
    step.run(b, 0, 0);
  }
  ASSERT_EQ(comm.started.size(), 3u);
  EXPECT_TRUE(comm.first_layer_pending[0]) << "the last bucket waited for the whole backward";
  const float* base = model.grads().data();
  int64_t end = model.param_count();
  for (const auto& [p, n] : comm.started) {
    EXPECT_EQ(p + n, base + end);
    end = p - base;
  }
  EXPECT_EQ(end, 0);
  EXPECT_EQ(comm.waits, 1);
  for (int64_t i = 0; i < model.param_count(); i += 997) EXPECT_FLOAT_EQ(model.grads()[i], 0.5f * g1[static_cast<size_t>(i)]);
}
#endif

#if defined(KILN_TEST_MPIEXEC) && !defined(__SANITIZE_ADDRESS__)

namespace {

struct Ran {
  int rc = -1;
  std::string out;
  double seconds = 0;
};

// Runs a shell command with a hard limit (so a hang fails the test instead of the suite).
Ran sh(const std::string& cmd) {
  Ran r;
  const auto t0 = std::chrono::steady_clock::now();
  FILE* p = ::popen(("timeout 60 " + cmd + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf{};
  while (p && std::fgets(buf.data(), buf.size(), p)) r.out += buf.data();
  const int status = p ? ::pclose(p) : -1;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// Open MPI's session folder for this test process: mpiruns started at the same moment (ctest
// -j) race to create the shared /tmp/ompi.HOST.UID and one fails in orte_init ("mkdir: File
// exists"), so each test process gets a base of its own.
struct SessionBase {
  fs::path dir = fs::temp_directory_path() / ("kiln-ompi-" + std::to_string(::getpid()));
  SessionBase() { fs::create_directories(dir); }
  ~SessionBase() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// mpirun on this machine, one thread per rank; root (CI containers) is allowed.
std::string mpirun(int ranks) {
  static const SessionBase session;
  return "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 "
         "OMPI_MCA_orte_tmpdir_base='" + session.dir.string() + "' " +
         std::string(KILN_TEST_MPIEXEC) + " -np " + std::to_string(ranks) + " ";
}

std::vector<fs::path> folders(const std::string& dir) {
  std::vector<fs::path> out;
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

double last_test_loss(const fs::path& run) {
  std::ifstream f(run / "metrics.csv");
  std::string line, last;
  while (std::getline(f, line)) last = line;
  size_t at = 0;
  for (int i = 0; i < 3; ++i) at = last.find(',', at) + 1;
  return std::stod(last.substr(at));
}

// The last line of metrics.csv, split at commas (epoch, train_loss, train_acc, test_loss, ...).
std::vector<std::string> last_metrics(const fs::path& run) {
  std::ifstream f(run / "metrics.csv");
  std::string line, last;
  while (std::getline(f, line)) last = line;
  std::vector<std::string> out;
  std::stringstream ss(last);
  for (std::string field; std::getline(ss, field, ',');) out.push_back(field);
  return out;
}

double max_weight_difference(const fs::path& a, const fs::path& b) {
  Model ma = load_model((a / "weights.kiln").string()), mb = load_model((b / "weights.kiln").string());
  double d = 0;
  for (int64_t i = 0; i < ma.param_count(); ++i) d = std::max(d, std::fabs(double(ma.params()[i]) - mb.params()[i]));
  return d;
}

class Mpi : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = kiln::testing::make_synthetic_idx(::testing::UnitTest::GetInstance()->current_test_info()->name(), 250, 64);
    // A CNN without batch norm or dropout (both see the shard, not the global batch, by
    // default) at a rate low enough that the loss stays well above zero after 3 epochs.
    std::ofstream(data_ + "/tiny.toml")
        << "name = \"tiny\"\nseed = 5\n[data]\ndataset = \"idx\"\ndir = \"" << data_
        << "\"\n[model]\nlayers = [\"conv 4 3x3 pad=1\", \"relu\", \"maxpool 2\", \"dense 16\", \"relu\", \"dense 4\"]\n"
           "[optimizer]\nname = \"sgd\"\nlr = 0.005\nmomentum = 0.9\n[train]\nbatch_size = 16\nepochs = 3\nlog_every = 4\n";
  }
  void TearDown() override { fs::remove_all(data_); }
  // tiny.toml with other layers and settings, as NAME.toml.
  void write_variant(const std::string& name, const std::string& layers, const std::string& train_extra) {
    std::string text = read_text_file(data_ + "/tiny.toml");
    const size_t a = text.find("layers = ["), b = text.find("]\n", a);
    text.replace(a, b + 1 - a, "layers = [" + layers + "]");
    text.replace(text.find("[train]\n"), 8, "[train]\n" + train_extra);
    std::ofstream(data_ + "/" + name + ".toml") << text;
  }
  std::string train(int ranks, const std::string& runs, const std::string& extra = "") {
    return (ranks > 0 ? mpirun(ranks) : std::string()) + KILN_TEST_BINARY + " train " + data_ + "/tiny.toml --runs " +
           data_ + "/" + runs + " --no-progress --threads 1 " + extra;
  }
  std::string data_;
};

}  // namespace

// 2 and 3 ranks with shards of the global batch of 16 follow one process's trajectory (the
// last batch of 10 split 5+5 and 3+3+4); rank 0 alone writes one run folder that lists them.
TEST_F(Mpi, RanksFollowTheOneProcessTrajectory) {
  const Ran one = sh(train(0, "one"));
  ASSERT_EQ(one.rc, 0) << one.out;
  for (int ranks : {2, 3}) {
    const std::string runs = "r" + std::to_string(ranks);
    const Ran r = sh(train(ranks, runs));
    ASSERT_EQ(r.rc, 0) << r.out;
    const auto dirs = folders(data_ + "/" + runs);
    ASSERT_EQ(dirs.size(), 1u) << "one run folder, whatever the ranks";
    const fs::path ref = folders(data_ + "/one").at(0);
    const double loss = last_test_loss(dirs[0]);
    EXPECT_GT(loss, 0.01) << "the test would be trivial at zero loss";
    EXPECT_NEAR(loss, last_test_loss(ref), 0.002) << ranks << " ranks";
    EXPECT_LT(max_weight_difference(dirs[0], ref), 1e-4) << ranks << " ranks";
    const std::string manifest = read_text_file((dirs[0] / "manifest.toml").string());
    EXPECT_NE(manifest.find("ranks = \"" + std::to_string(ranks) + "\""), std::string::npos) << manifest;
    EXPECT_NE(manifest.find(std::to_string(ranks - 1) + ": " + Comm::host_name()), std::string::npos) << manifest;
    size_t done = 0;
    for (size_t at = 0; (at = r.out.find("done: test accuracy", at)) != std::string::npos; ++at) ++done;
    EXPECT_EQ(done, 1u) << "rank 0 alone reports\n" << r.out;
  }
  // The gap is rounding that the run amplifies (docs/distributed.md, "How far apart"): it
  // starts at the last bits of the weights and grows with the number of steps, so a bound
  // holds for a given length of run, not for every length.
  const Ran one_epoch = sh(train(0, "one1", "--set train.epochs=1")), two_epoch = sh(train(2, "r21", "--set train.epochs=1"));
  ASSERT_EQ(one_epoch.rc, 0) << one_epoch.out;
  ASSERT_EQ(two_epoch.rc, 0) << two_epoch.out;
  const double gap1 = max_weight_difference(folders(data_ + "/r21").at(0), folders(data_ + "/one1").at(0));
  const double gap3 = max_weight_difference(folders(data_ + "/r2").at(0), folders(data_ + "/one").at(0));
  std::printf("2 ranks against 1 process, largest weight difference: %.3g after 16 steps, %.3g after 48\n", gap1, gap3);
  EXPECT_LT(gap1, 1e-6);
  EXPECT_GT(gap3, gap1);
  // With a fixed rank count runs repeat bit for bit.
  const Ran again = sh(train(2, "again"));
  ASSERT_EQ(again.rc, 0) << again.out;
  EXPECT_EQ(max_weight_difference(folders(data_ + "/again").at(0), folders(data_ + "/r2").at(0)), 0.0);
}

// train.sync_bn: a net with batch norm after a convolution and after a dense layer, trained on
// 2 ranks with the statistics synchronised, follows one process within the bound of the plain
// net above; without the sync (each rank normalising its half) it goes elsewhere.
TEST_F(Mpi, SyncBatchNormFollowsTheOneProcessTrajectory) {
  write_variant("bn", "\"conv 4 3x3 pad=1\", \"bn\", \"relu\", \"maxpool 2\", \"dense 16\", \"bn\", \"relu\", \"dense 4\"", "");
  const std::string run = std::string(KILN_TEST_BINARY) + " train " + data_ + "/bn.toml --no-progress --threads 1 --runs " + data_;
  const Ran one = sh(run + "/one");
  ASSERT_EQ(one.rc, 0) << one.out;
  const Ran synced = sh(mpirun(2) + run + "/synced --set train.sync_bn=true");
  ASSERT_EQ(synced.rc, 0) << synced.out;
  const Ran apart = sh(mpirun(2) + run + "/apart");
  ASSERT_EQ(apart.rc, 0) << apart.out;
  const fs::path ref = folders(data_ + "/one").at(0), s = folders(data_ + "/synced").at(0), p = folders(data_ + "/apart").at(0);
  EXPECT_GT(last_test_loss(ref), 0.01);
  EXPECT_NEAR(last_test_loss(s), last_test_loss(ref), 0.002);
  const double synced_gap = max_weight_difference(s, ref), apart_gap = max_weight_difference(p, ref);
  std::printf("largest weight difference to 1 process: %.3g with sync_bn, %.3g without; test loss %.6f, %.6f, %.6f\n",
              synced_gap, apart_gap, last_test_loss(ref), last_test_loss(s), last_test_loss(p));
  EXPECT_LT(synced_gap, 1e-4);
  EXPECT_GT(apart_gap, 100 * synced_gap) << "per-rank statistics should give another trajectory";
  EXPECT_GT(apart_gap, 1e-3);
  // 3 ranks: the last batch of 10 is split 3+3+4, every shard non-empty.
  const Ran three = sh(mpirun(3) + run + "/three --set train.sync_bn=true");
  ASSERT_EQ(three.rc, 0) << three.out;
  EXPECT_LT(max_weight_difference(folders(data_ + "/three").at(0), ref), 1e-4);
}

// Dropout on ranks: each rank's rows draw the masks one process draws for them (the mask is
// indexed within the global batch, Pass::first_sample), so a net with dropout follows one
// process too; before, each shard drew the mask of a batch starting at its own first row.
TEST_F(Mpi, DropoutDrawsTheOneProcessMasksOnRanks) {
  write_variant("drop", "\"conv 4 3x3 pad=1\", \"relu\", \"maxpool 2\", \"dense 16\", \"relu\", \"dropout 0.4\", \"dense 4\"", "");
  const std::string run = std::string(KILN_TEST_BINARY) + " train " + data_ + "/drop.toml --no-progress --threads 1 --runs " + data_;
  const Ran one = sh(run + "/one");
  ASSERT_EQ(one.rc, 0) << one.out;
  for (int ranks : {2, 3}) {
    const std::string runs = "/drop" + std::to_string(ranks);
    const Ran r = sh(mpirun(ranks) + run + runs);
    ASSERT_EQ(r.rc, 0) << r.out;
    const fs::path ref = folders(data_ + "/one").at(0), got = folders(data_ + runs).at(0);
    EXPECT_GT(last_test_loss(ref), 0.01);
    EXPECT_NEAR(last_test_loss(got), last_test_loss(ref), 0.002) << ranks << " ranks";
    EXPECT_LT(max_weight_difference(got, ref), 1e-4) << ranks << " ranks";
  }
}

// With sync_bn no shard may be empty: 250 samples in batches of 8 leave a last batch of 2,
// fewer than 3 ranks, and every rank says so before training.
TEST_F(Mpi, SyncBatchNormRefusesEmptyShards) {
  write_variant("bn", "\"conv 4 3x3 pad=1\", \"bn\", \"relu\", \"dense 4\"", "sync_bn = true\n");
  const Ran r = sh(mpirun(3) + KILN_TEST_BINARY + " train " + data_ + "/bn.toml --set train.batch_size=8 --no-progress --threads 1 --runs " + data_ + "/runs");
  EXPECT_NE(r.rc, 0) << r.out;
  EXPECT_NE(r.rc, 124) << "the job hung\n" << r.out;
  EXPECT_NE(r.out.find("train.sync_bn on 3 ranks needs at least one sample per rank"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("has 2 (250 training samples, train.batch_size = 8)"), std::string::npos) << r.out;
}

// The test set's 4 batches of 16 evaluated by 3 ranks (1, 1 and 2 batches): the test loss and
// accuracy the run records are one process's evaluation of the same weights, to all 9 digits.
TEST_F(Mpi, ShardedEvaluationGivesOneProcessNumbers) {
  write_variant("shard", "\"conv 4 3x3 pad=1\", \"relu\", \"maxpool 2\", \"dense 16\", \"relu\", \"dense 4\"",
                "eval_batch_size = 16\n");
  const Ran r = sh(mpirun(3) + KILN_TEST_BINARY + " train " + data_ + "/shard.toml --set train.epochs=1 --no-progress --threads 1 --runs " + data_ + "/runs");
  ASSERT_EQ(r.rc, 0) << r.out;
  const fs::path run = folders(data_ + "/runs").at(0);
  const std::vector<std::string> m = last_metrics(run);
  ASSERT_GE(m.size(), 5u);
  set_threads(1);
  SavedRun saved = open_saved_run(run.string());
  const SavedEvaluation one = evaluate_saved(saved, "", 16);
  std::ostringstream loss, acc;
  loss << std::setprecision(9) << one.ev.loss;
  acc << std::setprecision(9) << one.ev.accuracy;
  EXPECT_EQ(m[3], loss.str());
  EXPECT_EQ(m[4], acc.str());
}

// Batch norm without train.sync_bn: each rank's running statistics come from its own shards.
// After every epoch the ranks take their mean, so the sharded evaluation is of one model, the
// one rank 0 saves: `kiln eval` of weights.kiln gives the run's test loss to all 9 digits, with
// and without the weight EMA (whose averaged statistics are made equal too). Before, rank 1
// evaluated its half of the test set with statistics rank 0 never saved.
TEST_F(Mpi, BatchNormStatisticsAreOneModelAcrossRanks) {
  write_variant("bn", "\"conv 4 3x3 pad=1\", \"bn\", \"relu\", \"maxpool 2\", \"dense 16\", \"relu\", \"dense 4\"",
                "eval_batch_size = 16\n");
  for (const std::string ema : {"0", "0.9"}) {
    const std::string runs = data_ + "/runs-ema" + ema;
    const Ran r = sh(mpirun(2) + KILN_TEST_BINARY + " train " + data_ + "/bn.toml --set train.epochs=2 --set optimizer.ema=" +
                     ema + " --no-progress --threads 1 --runs " + runs);
    ASSERT_EQ(r.rc, 0) << r.out;
    const fs::path run = folders(runs).at(0);
    const std::vector<std::string> m = last_metrics(run);
    ASSERT_GE(m.size(), 5u);
    set_threads(1);
    SavedRun saved = open_saved_run(run.string());
    const SavedEvaluation one = evaluate_saved(saved, "", 16);
    std::ostringstream loss;
    loss << std::setprecision(9) << one.ev.loss;
    EXPECT_EQ(m[3], loss.str()) << "ema " << ema;
  }
}

// A rank killed mid-run (step 20, in epoch 2) ends the job on every rank without a hang; the
// checkpoint of epoch 1 stays good, and resuming it on 3 ranks ends where one process does.
TEST_F(Mpi, KilledRankEndsTheJobAndTheRunResumesOnOtherRanks) {
  const Ran killed = sh("env KILN_TEST_KILL_RANK_AT_STEP=1:20 KILN_COMM_TIMEOUT=20 " + train(2, "runs"));
  EXPECT_NE(killed.rc, 0) << killed.out;
  EXPECT_NE(killed.rc, 124) << "the job hung\n" << killed.out;
  EXPECT_LT(killed.seconds, 30) << killed.out;
  EXPECT_NE(killed.out.find("rank 1"), std::string::npos) << "which rank died\n" << killed.out;
  const auto dirs = folders(data_ + "/runs");
  ASSERT_EQ(dirs.size(), 1u);
  const Ran resumed = sh(mpirun(3) + KILN_TEST_BINARY + " train --no-progress --threads 1 --resume " + dirs[0].string());
  ASSERT_EQ(resumed.rc, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming"), std::string::npos) << resumed.out;
  const std::string manifest = read_text_file((dirs[0] / "manifest.toml").string());
  EXPECT_NE(manifest.find("resumed_ranks = \"3\""), std::string::npos) << manifest;
  const Ran one = sh(train(0, "one"));
  ASSERT_EQ(one.rc, 0) << one.out;
  EXPECT_NEAR(last_test_loss(dirs[0]), last_test_loss(folders(data_ + "/one").at(0)), 0.002);
}

// A rank that hangs (stopped: alive, so mpirun sees nothing wrong) is caught by the deadline
// of the other's next sum, which names it as such and ends the job.
TEST_F(Mpi, AHungRankEndsTheJobAtTheDeadline) {
  const Ran r = sh("env KILN_TEST_KILL_RANK_AT_STEP=1:5:stop KILN_COMM_TIMEOUT=2 " + train(2, "runs"));
  EXPECT_NE(r.rc, 0) << r.out;
  EXPECT_NE(r.rc, 124) << "the job hung\n" << r.out;
  EXPECT_NE(r.out.find("rank 0 of 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no answer from the other ranks within 2 s"), std::string::npos) << r.out;
}

// Rank 1 of 2 reads a folder without the data (mpirun's MPMD form gives it its own file):
// both ranks stop with the file named, and no run folder is made.
TEST_F(Mpi, ARankThatCannotReadItsDataStopsAll) {
  std::string text = read_text_file(data_ + "/tiny.toml");
  text.replace(text.find("dir = \"") + 7, data_.size(), data_ + "/missing");
  std::ofstream(data_ + "/broken.toml") << text;
  const std::string common = std::string(" --runs ") + data_ + "/runs --no-progress --threads 1";
  const Ran r = sh(mpirun(1) + KILN_TEST_BINARY + " train " + data_ + "/tiny.toml" + common + " : -np 1 " +
                   KILN_TEST_BINARY + " train " + data_ + "/broken.toml" + common);
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.rc, 124) << "the job hung\n" << r.out;
  size_t named = 0;
  for (size_t at = 0; (at = r.out.find("rank 1 of 2 failed: ", at)) != std::string::npos; ++at) ++named;
  EXPECT_EQ(named, 2u) << "every rank says which rank failed\n" << r.out;
  EXPECT_NE(r.out.find(data_ + "/missing"), std::string::npos) << r.out;
  EXPECT_TRUE(folders(data_ + "/runs").empty());
}

// mpirun -np 2 kiln sweep: the 3 variants spread over the ranks, each trained by one rank
// alone (its manifest says 1 rank), one comparison of all three written by rank 0.
TEST_F(Mpi, SweepSpreadsVariantsOverRanks) {
  const Ran r = sh(mpirun(2) + KILN_TEST_BINARY + " sweep " + data_ + "/tiny.toml --vary optimizer.lr=0.001,0.002,0.005 " +
                   "--set train.epochs=1 --runs " + data_ + "/runs --no-progress --threads 1");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("(rank 1)"), std::string::npos) << r.out;
  const std::string sweep = data_ + "/runs/tiny-sweep";
  int variants = 0;
  for (const auto& d : folders(sweep)) {
    if (!fs::is_directory(d) || d.filename() == "figures") continue;
    ++variants;
    EXPECT_TRUE(fs::exists(d / "weights.kiln")) << d;
    EXPECT_NE(read_text_file((d / "manifest.toml").string()).find("ranks = \"1\""), std::string::npos) << d;
  }
  EXPECT_EQ(variants, 3);
  const std::string table = read_text_file(sweep + "/comparison.md");
  for (const char* lr : {"optimizer.lr=0.001", "optimizer.lr=0.002", "optimizer.lr=0.005"})
    EXPECT_NE(table.find(lr), std::string::npos) << table;
  size_t reported = 0;
  for (size_t at = 0; (at = r.out.find("comparison: ", at)) != std::string::npos; ++at) ++reported;
  EXPECT_EQ(reported, 1u) << r.out;
}

// Variants of unequal length: rank 0 takes the long first one, rank 1 the second, and then,
// free while rank 0 is still busy, the third and the fourth (a fixed i mod 2 would have given
// rank 0 the third). Which rank trained what, from the "[i/4] NAME (rank r)" lines.
TEST_F(Mpi, SweepHandsTheNextVariantToTheNextFreeRank) {
  const Ran r = sh(mpirun(2) + KILN_TEST_BINARY + " sweep " + data_ + "/tiny.toml --vary train.epochs=40,1,1,1 " +
                   "--runs " + data_ + "/runs --no-progress --threads 1");
  ASSERT_EQ(r.rc, 0) << r.out;
  std::map<int, int> rank_of;
  const std::regex line(R"(\[(\d)/4\] train\.epochs=\d+ \(rank (\d)\))");
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), line); it != std::sregex_iterator(); ++it)
    rank_of[std::stoi((*it)[1])] = std::stoi((*it)[2]);
  EXPECT_EQ(rank_of, (std::map<int, int>{{1, 0}, {2, 1}, {3, 1}, {4, 1}})) << r.out;
  for (const auto& d : folders(data_ + "/runs/tiny-sweep"))
    EXPECT_EQ(d.filename().string().rfind(".claims", 0), std::string::npos) << "the claims are cleared: " << d;
}

#endif
