// Regression on tables (data.task = "regression"): a numeric target column, learned on its
// standardised values with the MSE, measured by MAE and RMSE in its own units; the target's
// statistics saved with the weights so that `kiln eval` reproduces the run's test loss and
// `kiln predict --csv` prints values; bad targets named with file, line and column; sweeps
// ranked by validation RMSE, lowest first; the report built without class figures.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "config/experiment.h"
#include "data/csv.h"
#include "data_files.h"
#include "loss/loss.h"
#include "model/build.h"
#include "report/sweep.h"
#include "thread_ranks.h"
#include "train/evaluate.h"
#include "train/predict.h"
#include "train/run_folder.h"
#include "train/saved_run.h"
#include "optim/optimizer.h"
#include "train/setup.h"
#include "train/step.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace kiln;
using kiln::testing::TempDir;
using kiln::testing::error_of;
using kiln::testing::slurp;
using kiln::testing::write_text;

namespace {

constexpr double kNoise = 0.5;

// y = 100 + 20 sin(a) + 8 a·b + noise(σ = 0.5), with a = (area - 80) / 25 and b = (year -
// 1990) / 15: a nonlinear target in units far from 1 (its std is about 17), on features of
// very different scales, the target column in the middle and a pure-noise column.
std::string prices_csv(int rows, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> g(0, 1);
  std::ostringstream s;
  s.precision(9);
  s << "area,year,price,junk\n";
  for (int i = 0; i < rows; ++i) {
    const double a = g(gen), b = g(gen);
    const double y = 100 + 20 * std::sin(a) + 8 * a * b + kNoise * g(gen);
    s << 80 + 25 * a << "," << 1990 + 15 * b << "," << y << "," << g(gen) << "\n";
  }
  return s.str();
}

std::string experiment(const std::string& dir, int epochs, const std::string& extra = "",
                       const std::string& loss = "mse") {
  return "name = \"prices\"\nseed = 3\n[data]\ndataset = \"csv\"\ndir = \"" + dir +
         "\"\ntask = \"regression\"\ntarget = \"price\"\n" + extra +
         "[model]\nlayers = [\"dense 32\", \"relu\", \"dense 1\"]\n[loss]\nname = \"" + loss +
         "\"\n[optimizer]\nname = \"adam\"\nlr = 0.01\n[train]\nbatch_size = 32\nepochs = " + std::to_string(epochs) +
         "\nlog_every = 5\nthreads = 1\n";
}

TrainOptions quiet(const std::string& runs) {
  TrainOptions o;
  o.runs_dir = runs;
  o.progress = o.epoch_lines = o.write_report = false;
  return o;
}

double stddev(const std::vector<float>& v) {
  double m = 0, s = 0;
  for (float x : v) m += x;
  m /= static_cast<double>(v.size());
  for (float x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

class CsvRegression : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir_ / "train.csv", prices_csv(1200, 21));
    write_text(dir_ / "test.csv", prices_csv(300, 22));
    runs_ = dir_ / "runs";
  }
  TempDir dir_;
  std::string runs_;
};

}  // namespace

// The loader reads the target column as numbers, every other column as a feature, and the
// training targets' mean and std standardise the batches' targets.
TEST_F(CsvRegression, TheTargetColumnIsReadAsNumbersAndStandardised) {
  const Experiment e = parse_experiment(experiment(dir_.path(), 1), "prices.toml");
  const Data d = load_data(e.data, e.seed);
  ASSERT_TRUE(d.train.regression());
  EXPECT_EQ(d.train.size(), 1200);
  EXPECT_EQ(d.test.size(), 300);
  EXPECT_TRUE(d.train.labels.empty());
  EXPECT_EQ(d.train.features, (std::vector<std::string>{"area", "year", "junk"}));
  ASSERT_EQ(d.norm.target_mean.size(), 1u);
  double sum = 0;
  for (float t : d.train.targets) sum += t;
  EXPECT_NEAR(d.norm.target_mean[0], sum / 1200, 1e-3);
  EXPECT_NEAR(d.norm.target_std[0], stddev(d.train.targets), 1e-3);
  EXPECT_GT(d.norm.target_std[0], 10);
  Loader loader(d.train, 7, false, 0, d.norm, Augment{});
  Batch b;
  ASSERT_TRUE(loader.next(b));
  ASSERT_EQ(b.t.shape(), (Shape{7, 1}));
  EXPECT_TRUE(b.y.empty());
  for (int64_t j = 0; j < 7; ++j)
    EXPECT_FLOAT_EQ(b.t[j], static_cast<float>((d.train.targets[static_cast<size_t>(j)] - d.norm.target_mean[0]) /
                                               d.norm.target_std[0]));
  // A validation split moves targets with their rows.
  DataConfig cfg = e.data;
  cfg.validation = 0.25;
  const Data v = load_data(cfg, 9);
  EXPECT_EQ(v.train.size(), 900);
  EXPECT_EQ(v.val.size(), 300);
  EXPECT_EQ(static_cast<int64_t>(v.val.values.size()), 300 * 3);
  EXPECT_TRUE(v.val.regression());
}

// MAE and RMSE on a case worked by hand: a model whose output is 0 predicts the target's mean
// (y·sd + mean), so the errors are the targets' distances from it.
TEST(CsvRegressionMetrics, MaeAndRmseOfAKnownCase) {
  Dataset d;
  d.source = "four rows";
  d.sample = Shape{1};
  d.floats = true;
  d.target = "t";
  d.values = {1, 2, 3, 4};
  d.targets = {10, 12, 16, 18};
  Model m = build_model(Shape{1}, {"dense 1"}, 1);
  m.params().zero();  // output 0 for every row: the prediction is the mean
  const Normalization norm{{0}, {1}, {13}, {2}};
  auto loss = make_loss("mse");
  const Evaluation ev = evaluate(m, *loss, d, norm, 3, /*keep_predictions=*/true);
  // Errors 13 - t = 3, 1, -3, -5: MAE 3, RMSE sqrt((9 + 1 + 9 + 25) / 4) = sqrt(11).
  EXPECT_DOUBLE_EQ(ev.mae, 3.0);
  EXPECT_DOUBLE_EQ(ev.rmse, std::sqrt(11.0));
  EXPECT_TRUE(std::isnan(ev.accuracy));
  EXPECT_EQ(ev.values, (std::vector<float>{13, 13, 13, 13}));
  // The loss is the MSE on the standardised targets, ½ mean((0 - (t - 13)/2)²) = 44 / 32;
  // its RMSE in the target's units is sd · sqrt(2 loss).
  EXPECT_NEAR(ev.loss, 44.0 / 32.0, 1e-6);
  EXPECT_NEAR(rmse_of_loss(ev.loss, 2), ev.rmse, 1e-6);
}

// Sharded over ranks, a regression's evaluation has one process's bits.
TEST(CsvRegressionMetrics, ShardedEvaluationGivesOneProcessNumbersExactly) {
  set_threads(1);
  const Dataset d = kiln::testing::regression_dataset(
      53, 3, [](int i, int k) { return std::sin(i * 1.7 + k); }, [](int i) { return 5 + 3 * std::cos(i * 0.3); });
  const Normalization norm{{0, 0, 0}, {1, 1, 1}, {5}, {3}};
  auto net = [] { return build_model(Shape{3}, {"dense 8", "relu", "dense 1"}, 4); };
  auto loss = make_loss("mse");
  Model one_model = net();
  const Evaluation one = evaluate(one_model, *loss, d, norm, 8, true);
  ASSERT_GT(one.rmse, 0.1);
  for (int ranks : {2, 3}) {
    std::vector<Evaluation> got(static_cast<size_t>(ranks));
    kiln::testing::ThreadRanks group(ranks);
    group.run([&](Comm& comm) {
      Model m = net();
      auto l = make_loss("mse");
      got[static_cast<size_t>(comm.rank())] = evaluate(m, *l, d, norm, 8, true, &comm);
    });
    for (const Evaluation& ev : got) {
      EXPECT_EQ(ev.loss, one.loss);
      EXPECT_EQ(ev.mae, one.mae);
      EXPECT_EQ(ev.rmse, one.rmse);
      EXPECT_EQ(ev.values, one.values);
    }
  }
}

// Training brings the test RMSE far below the target's std (what predicting the mean gives),
// towards the noise floor; the weights carry the target's statistics; `kiln eval` of the run
// and of the bare weights file reproduces the run's test loss bit for bit; a row predicted
// alone is the model's output on the row standardised by hand, mapped back to the units.
TEST_F(CsvRegression, TrainsFarBelowTheTargetsSpreadAndEvalReproducesTheTestLoss) {
  const Experiment e = parse_experiment(experiment(dir_.path(), 30, "validation = 0.1\n"), "prices.toml");
  const RunResult r = train(e, quiet(runs_));
  ASSERT_EQ(r.status, RunResult::Status::completed) << r.message;
  const Data data = load_data(e.data, e.seed);
  const double spread = stddev(data.test.targets);
  EXPECT_GT(spread, 10);
  EXPECT_LT(r.test_rmse, spread / 5) << "the target's std " << spread;
  EXPECT_GT(r.test_rmse, kNoise * 0.8) << "below the noise floor: the test set leaked?";
  EXPECT_LT(r.test_mae, r.test_rmse);
  EXPECT_TRUE(std::isnan(r.test_accuracy));

  // metrics.csv: RMSE and MAE columns, and the run's last row is what it returned.
  ASSERT_TRUE(is_regression_epoch_csv(r.run_dir + "/metrics.csv"));
  EXPECT_EQ(slurp(r.run_dir + "/metrics.csv").rfind("epoch,train_loss,train_rmse,test_loss,test_mae,test_rmse,lr,", 0), 0u);
  const std::vector<EpochRow> rows = read_epoch_csv(r.run_dir + "/metrics.csv");
  ASSERT_EQ(rows.size(), 30u);
  EXPECT_NEAR(rows.back().test_rmse, r.test_rmse, 1e-6 * r.test_rmse);
  EXPECT_LT(rows.back().val_rmse, rows.front().val_rmse);
  EXPECT_NEAR(rows.back().train_rmse, rmse_of_loss(rows.back().train_loss, data.norm.target_std[0]), 1e-5);

  SavedRun run = open_saved_run(r.run_dir);
  const Preprocessing& p = run.model.preprocessing();
  EXPECT_TRUE(p.regression());
  EXPECT_EQ(p.label, "price");
  EXPECT_EQ(p.target_mean, data.norm.target_mean);
  EXPECT_EQ(p.target_std, data.norm.target_std);
  const SavedEvaluation again = evaluate_saved(run, "", 0);
  EXPECT_EQ(again.ev.loss, r.test_loss);
  EXPECT_EQ(again.ev.rmse, r.test_rmse);
  EXPECT_EQ(again.ev.mae, r.test_mae);

  const std::string alone = dir_ / "alone.kiln";
  fs::copy_file(r.run_dir + "/weights.kiln", alone);
  SavedRun bare = open_saved_run(alone);
  ASSERT_FALSE(bare.experiment);
  const SavedEvaluation b = evaluate_saved(bare, dir_.path(), 1000);
  EXPECT_EQ(b.ev.loss, r.test_loss);  // the target column and the loss came from the file
  EXPECT_EQ(b.ev.rmse, r.test_rmse);

  // A row with the columns in another order and without the target.
  write_text(dir_ / "rows.csv", "junk,year,area\n0.5,2000,90\n");
  const std::vector<Prediction> got = predict_csv(bare.model, dir_ / "rows.csv", 3);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "price");
  EXPECT_TRUE(got[0].top.empty());
  const float row[3] = {90, 2000, 0.5f};
  Tensor x(Shape{1, 3});
  for (int i = 0; i < 3; ++i)
    x[i] = static_cast<Real>((row[i] - static_cast<double>(p.mean[static_cast<size_t>(i)])) / p.std[static_cast<size_t>(i)]);
  Pass pass;
  pass.backward = false;
  const double y = bare.model.forward(x, pass)[0];
  EXPECT_NEAR(got[0].value, y * p.target_std[0] + p.target_mean[0], 1e-4);
  // The function itself at a = 0.4, b = 2/3: 100 + 20 sin(0.4) + 8·0.4·(2/3) ≈ 109.92.
  EXPECT_NEAR(got[0].value, 100 + 20 * std::sin(0.4) + 8 * 0.4 * (10.0 / 15), 3.0);
}

// Bad targets and settings are refused with where and what.
TEST_F(CsvRegression, BadTargetsAndSettingsAreNamed) {
  const std::string file = dir_ / "train.csv";
  write_text(file, "area,price\n1,2\n3,x\n");
  ReadOptions o;
  o.target = "price";
  EXPECT_EQ(error_of([&] { load_csv_dir(dir_.path(), true, o); }),
            file + ":3, column 2 'price': 'x' is not a number (data.task = \"regression\": the target must be a finite "
                    "number on every row)");
  write_text(file, "area,price\n1,2\n3,\n");
  EXPECT_NE(error_of([&] { load_csv_dir(dir_.path(), true, o); }).find(file + ":3, column 2 'price': '' is not a number"),
            std::string::npos);
  write_text(file, "area,price\n1,2\n3\n");
  EXPECT_NE(error_of([&] { load_csv_dir(dir_.path(), true, o); }).find(file + ":3: 1 fields, expected 2"), std::string::npos);
  write_text(file, "area,cost\n1,2\n");
  EXPECT_NE(error_of([&] { load_csv_dir(dir_.path(), true, o); })
                .find(file + ":1: no column named 'price' (the regression target, data.target)"),
            std::string::npos);
  write_text(file, "area,price\n1,2\nabc,3\n");
  EXPECT_EQ(error_of([&] { load_csv_dir(dir_.path(), true, o); }),
            file + ":3, column 1 'area': 'abc' is not a number (features must be finite numbers)");

  // The config: a classification loss, no target, another dataset, a target without the task.
  const std::string d = dir_.path();
  EXPECT_NE(error_of([&] { parse_experiment(experiment(d, 1, "", "softmax_xent"), "p.toml"); })
                .find("p.toml: data.task = \"regression\" with loss.name = \"softmax_xent\", a classification loss: set "
                      "loss.name = \"mse\""),
            std::string::npos);
  std::string no_target = experiment(d, 1);
  no_target.replace(no_target.find("target = \"price\"\n"), 17, "");
  EXPECT_NE(error_of([&] { parse_experiment(no_target, "p.toml"); }).find("name the column to predict with data.target"),
            std::string::npos);
  std::string mnist = experiment(d, 1);
  mnist.replace(mnist.find("\"csv\""), 5, "\"mnist\"");
  EXPECT_NE(error_of([&] { parse_experiment(mnist, "p.toml"); }).find("it needs data.dataset = \"csv\""), std::string::npos);
  std::string no_task = experiment(d, 1);
  no_task.replace(no_task.find("task = \"regression\"\n"), 20, "");
  EXPECT_NE(error_of([&] { parse_experiment(no_task, "p.toml"); }).find("set data.task = \"regression\" too"),
            std::string::npos);
  // A model of several outputs.
  write_text(file, prices_csv(50, 1));
  std::string wide = experiment(d, 1);
  wide.replace(wide.find("\"dense 1\""), 9, "\"dense 3\"");
  const Experiment e = parse_experiment(wide, "p.toml");
  EXPECT_NE(error_of([&] { train(e, quiet(runs_)); }).find("end [model] layers with \"dense 1\""), std::string::npos);
}

// A sweep of regressions is ranked by final validation RMSE, lowest first (never the test
// set), with RMSE and MAE columns; a variant without a validation split comes last, unranked.
TEST(CsvRegressionSweep, RanksByValidationRmseLowestFirst) {
  TempDir dir;
  std::vector<SweepRow> rows;
  const double val_rmse[] = {2.5, 0.7, NAN, 1.2};
  for (int i = 0; i < 4; ++i) {
    SweepRow r;
    r.name = "optimizer.lr=" + std::to_string(i);
    r.values["optimizer.lr"] = std::to_string(i);
    r.regression = true;
    EpochRow er;
    er.epoch = 1, er.train_loss = er.test_loss = 0.1, er.train_acc = er.test_acc = NAN;
    er.test_rmse = 10 - i, er.test_mae = 5, er.val_rmse = val_rmse[i], er.seconds = 1;  // the test set would rank otherwise
    r.epochs.push_back(er);
    r.final_val_rmse = r.best_val_rmse = val_rmse[i];
    r.final_test_rmse = r.best_test_rmse = er.test_rmse;
    r.final_test_mae = 5;
    r.final_train_loss = r.final_test_loss = 0.1;
    r.final_train_acc = r.final_test_acc = r.best_test_acc = r.final_val_acc = NAN;
    rows.push_back(r);
  }
  const std::string md = write_sweep(rows, dir.path());
  std::vector<std::string> lines;
  std::istringstream is(md);
  for (std::string l; std::getline(is, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 6u) << md;
  EXPECT_NE(lines[0].find("final val rmse"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("final test mae"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("acc"), std::string::npos) << lines[0];
  const char* order[] = {"| 1 | optimizer.lr=1 |", "| 2 | optimizer.lr=3 |", "| 3 | optimizer.lr=0 |", "| \u2014 | optimizer.lr=2 |"};
  for (int k = 0; k < 4; ++k) EXPECT_EQ(lines[static_cast<size_t>(k + 2)].rfind(order[k], 0), 0u) << lines[static_cast<size_t>(k + 2)];
  EXPECT_NE(slurp(dir / "comparison.html").find("ranked by final validation RMSE, lowest first"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "figures/test_rmse.png"));
}

// The command line end to end: train (epoch lines with RMSE and MAE), the report without
// class figures, eval's numbers, predict's values (text and JSON), early stopping on the
// validation RMSE, and the help naming the keys.
TEST_F(CsvRegression, OnTheCommandLine) {
  write_text(dir_ / "prices.toml", experiment(dir_.path(), 4, "validation = 0.1\n"));
  const std::string out = dir_ / "out", err = dir_ / "err";
  auto kiln = [&](const std::string& args) {
    const std::string cmd = "'" KILN_CLI_PATH "' " + args + " </dev/null >'" + out + "' 2>'" + err + "'";
    const int raw = std::system(cmd.c_str());
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  };
  ASSERT_EQ(kiln("train '" + (dir_ / "prices.toml") + "' --runs '" + runs_ + "' --no-progress"), 0) << slurp(err);
  const std::string log = slurp(out);
  EXPECT_NE(log.find("epoch   4/4  train loss "), std::string::npos) << log;
  EXPECT_NE(log.find(" val loss "), std::string::npos) << log;
  EXPECT_NE(log.find(" test loss "), std::string::npos) << log;
  EXPECT_NE(log.find(" rmse "), std::string::npos) << log;
  EXPECT_NE(log.find(" mae "), std::string::npos) << log;
  EXPECT_EQ(log.find(" acc "), std::string::npos) << log;
  EXPECT_NE(log.find("done: test RMSE "), std::string::npos) << log;
  std::string run;
  for (const auto& entry : fs::directory_iterator(runs_)) run = entry.path().string();
  ASSERT_FALSE(run.empty());

  // The report: RMSE and MAE curves and table, no confusion matrix or example images.
  const std::string html = slurp(run + "/report.html");
  EXPECT_NE(html.find("final test RMSE (price)"), std::string::npos);
  EXPECT_NE(html.find("test MAE"), std::string::npos);
  EXPECT_EQ(html.find("id=\"confusion\""), std::string::npos);
  EXPECT_EQ(html.find("id=\"mistakes\""), std::string::npos);
  for (const char* f : {"loss", "rmse", "mae"}) EXPECT_TRUE(fs::exists(run + "/figures/" + f + ".png")) << f;
  ASSERT_EQ(kiln("report '" + run + "'"), 0) << slurp(err);  // rebuilt from the run folder

  // eval prints the run's last test loss (metrics.csv, 9 digits).
  ASSERT_EQ(kiln("eval '" + run + "'"), 0) << slurp(err);
  const std::vector<EpochRow> rows = read_epoch_csv(run + "/metrics.csv");
  char expect[96];
  std::snprintf(expect, sizeof expect, "test loss %.6f   test RMSE %.6g   test MAE %.6g", rows.back().test_loss,
                rows.back().test_rmse, rows.back().test_mae);
  EXPECT_NE(slurp(out).find(expect), std::string::npos) << slurp(out) << "\nexpected " << expect;

  write_text(dir_ / "rows.csv", prices_csv(3, 5));  // with the target column, which is ignored
  ASSERT_EQ(kiln("predict '" + run + "' --csv '" + (dir_ / "rows.csv") + "'"), 0) << slurp(err);
  std::istringstream lines(slurp(out));
  std::string line;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(std::getline(lines, line));
    const std::string head = dir_ / "rows.csv" + ":" + std::to_string(i + 2) + "  price ";
    ASSERT_EQ(line.rfind(head, 0), 0u) << line;
    const double v = std::stod(line.substr(head.size()));
    EXPECT_GT(v, 30);
    EXPECT_LT(v, 170);
  }
  ASSERT_EQ(kiln("predict '" + run + "/weights.kiln' --csv '" + (dir_ / "rows.csv") + "' --json"), 0) << slurp(err);
  EXPECT_NE(slurp(out).find("{\"input\": \"" + (dir_ / "rows.csv") + ":2\", \"target\": \"price\", \"value\": "),
            std::string::npos)
      << slurp(out);

  // ONNX export writes classifiers (logits, probabilities): a regression is refused, saying why.
  EXPECT_EQ(kiln("export '" + run + "' '" + (dir_ / "m.onnx") + "'"), 1);
  EXPECT_NE(slurp(err).find("this model is a regression on column 'price'"), std::string::npos) << slurp(err);
  EXPECT_FALSE(fs::exists(dir_ / "m.onnx"));

  // Early stopping watches the validation RMSE: a learning rate of 1e-30 leaves the weights as they are (in float), so no epoch improves on the first.
  write_text(dir_ / "stuck.toml", experiment(dir_.path(), 10, "validation = 0.1\n") + "early_stopping = 2\n");
  ASSERT_EQ(kiln("train '" + (dir_ / "stuck.toml") + "' --runs '" + (dir_ / "runs2") + "' --no-progress --set optimizer.lr=1e-30"), 0)
      << slurp(err);
  EXPECT_NE(slurp(out).find("stopped early after epoch 3: no better validation RMSE in 2 epochs (best "), std::string::npos)
      << slurp(out);

  ASSERT_EQ(kiln("help keys"), 0);
  EXPECT_NE(slurp(out).find("data.task"), std::string::npos);
  EXPECT_NE(slurp(out).find("data.target"), std::string::npos);
}

// Data-parallel steps on a regression: each rank reads its shard of every global batch
// (targets with their rows) and the summed gradient gives one process's weights (to float
// rounding: the ranks' sums are taken in another order), also with a short last batch.
TEST(CsvRegressionRanks, ShardedStepsTrainAsOneProcess) {
  set_threads(1);
  const Dataset d = kiln::testing::regression_dataset(  // 45 rows: batches of 16, two full, one of 13
      45, 3, [](int i, int k) { return std::sin(i * 0.7 + 2 * k); }, [](int i) { return 7 + 2 * std::cos(i * 0.4); });
  const Normalization norm{{0, 0, 0}, {1, 1, 1}, {7}, {2}};
  auto train_on = [&](Comm* comm) {
    Model m = build_model(Shape{3}, {"dense 8", "tanh", "dense 1"}, 6);
    auto loss = make_loss("mse");
    OptimizerConfig c;
    c.momentum = 0.9;
    auto opt = make_optimizer(c, m.param_count());
    TrainStep step(m, *loss, *opt, 1);
    step.set_comm(comm);
    const Shard shard = comm ? Shard{comm->rank(), comm->size()} : Shard{};
    Loader loader(d, 16, /*shuffle=*/true, 3, norm, Augment{}, shard);
    Batch b;
    int64_t s = 0;
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      loader.start_epoch(epoch);
      while (loader.next(b)) step.run(b, s++, 0.05);
    }
    return m.params().clone();
  };
  const Tensor one = train_on(nullptr);
  const Tensor start = build_model(Shape{3}, {"dense 8", "tanh", "dense 1"}, 6).params().clone();
  double moved = 0;
  for (int64_t i = 0; i < one.numel(); ++i) moved = std::max(moved, std::abs(static_cast<double>(one[i] - start[i])));
  EXPECT_GT(moved, 1e-2) << "the steps must move the weights for the comparison to mean anything";
  for (int ranks : {2, 3}) {
    std::vector<Tensor> got(static_cast<size_t>(ranks));
    kiln::testing::ThreadRanks group(ranks);
    group.run([&](Comm& comm) { got[static_cast<size_t>(comm.rank())] = train_on(&comm); });
    for (const Tensor& w : got) {
      ASSERT_EQ(w.numel(), one.numel());
      for (int64_t i = 0; i < w.numel(); ++i) EXPECT_NEAR(w[i], one[i], 1e-5) << ranks << " ranks, parameter " << i;
    }
  }
}
