// Tables in ([data] dataset = "csv"): RFC 4180 fields, classes from the label column, every
// bad file named with its line (and column), standardisation fitted on the training rows and
// carried by the weights file into `kiln eval` and `kiln predict --csv`.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "config/experiment.h"
#include "data/csv.h"
#include "data/csv_parse.h"
#include "data_files.h"
#include "model/build.h"
#include "train/predict.h"
#include "train/saved_run.h"
#include "train/setup.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace kiln;
using kiln::testing::TempDir;
using kiln::testing::error_of;
using kiln::testing::slurp;
using kiln::testing::write_text;

namespace {

ReadOptions label(const std::string& name) {
  ReadOptions o;
  o.label = name;
  return o;
}

// Three well separated classes on columns of very different scales (a year-like column near
// 2000, one near 0.001): without standardisation plain SGD on them goes nowhere. The label
// column sits in the middle, quoted in some rows; one header name holds a comma.
std::string blobs_csv(int rows, uint32_t seed, bool with_label = true) {
  const char* names[3] = {"setosa", "versicolor", "virginica"};
  std::mt19937 gen(seed);
  std::normal_distribution<double> noise(0, 1);
  std::ostringstream s;
  s << "\"petal, length\",year" << (with_label ? ",species" : "") << ",tiny,noise\r\n";
  for (int i = 0; i < rows; ++i) {
    const int c = i % 3;
    s << 2.0 * c + 0.3 * noise(gen) << "," << 2000 + 40 * c + 5 * noise(gen);
    if (with_label) s << "," << (i % 2 ? "\"" + std::string(names[c]) + "\"" : std::string(names[c]));
    s << "," << 0.001 * (1 - c) + 0.0002 * noise(gen) << "," << noise(gen) << "\r\n";
  }
  return s.str();
}

std::string experiment(const std::string& dir, int epochs, const std::string& extra = "") {
  return "name = \"table\"\nseed = 5\n[data]\ndataset = \"csv\"\ndir = \"" + dir + "\"\nlabel = \"species\"\n" + extra +
         "[model]\nlayers = [\"dense 16\", \"relu\", \"dense 3\"]\n[optimizer]\nname = \"sgd\"\nlr = 0.05\n"
         "momentum = 0.9\n[train]\nbatch_size = 16\nepochs = " + std::to_string(epochs) + "\nlog_every = 4\nthreads = 1\n";
}

TrainOptions quiet(const std::string& runs) {
  TrainOptions o;
  o.runs_dir = runs;
  o.progress = o.epoch_lines = o.write_report = false;
  return o;
}

}  // namespace

TEST(CsvParse, QuotedFieldsCrlfBlankLinesAndAByteOrderMark) {
  TempDir dir;
  write_text(dir / "a.csv", "\xEF\xBB\xBF" "a,\"b, c\",\"say \"\"hi\"\"\"\r\n\r\n1,\"two\nlines\",3\n\n4,,6");
  CsvReader csv(dir / "a.csv");
  std::vector<std::string> f;
  ASSERT_TRUE(csv.next(f));
  EXPECT_EQ(f, (std::vector<std::string>{"a", "b, c", "say \"hi\""}));
  EXPECT_EQ(csv.line(), 1);
  ASSERT_TRUE(csv.next(f));
  EXPECT_EQ(f, (std::vector<std::string>{"1", "two\nlines", "3"}));
  EXPECT_EQ(csv.line(), 3);
  ASSERT_TRUE(csv.next(f));
  EXPECT_EQ(f, (std::vector<std::string>{"4", "", "6"}));
  EXPECT_EQ(csv.line(), 6);  // the quoted newline counted
  EXPECT_FALSE(csv.next(f));
}

TEST(CsvParse, NumbersAreFiniteAndWhole) {
  float v = 0;
  EXPECT_TRUE(parse_number(" -1.5e3 ", v));
  EXPECT_EQ(v, -1500.f);
  EXPECT_TRUE(parse_number("+2", v));
  EXPECT_EQ(v, 2.f);
  for (const char* bad : {"", " ", "abc", "1.5x", "nan", "inf", "-inf", "1e39", "1,5", "0x10"})
    EXPECT_FALSE(parse_number(bad, v)) << bad;
}

TEST(CsvParse, BrokenQuotesNameTheLine) {
  TempDir dir;
  write_text(dir / "open.csv", "a,b\n1,2\n3,\"4\n5,6\n");
  std::vector<std::string> f;
  EXPECT_EQ(error_of([&] {
              CsvReader c(dir / "open.csv");
              while (c.next(f)) {
              }
            }),
            dir / "open.csv" + ":3: a quoted field is never closed (a \" without its pair)");
  write_text(dir / "after.csv", "a,b\n\"1\"x,2\n");
  EXPECT_NE(error_of([&] {
              CsvReader c(dir / "after.csv");
              while (c.next(f)) {
              }
            }).find("after.csv:2: text after a closing quote"),
            std::string::npos);
  write_text(dir / "inside.csv", "a,b\n1,x\"y\n");
  EXPECT_NE(error_of([&] {
              CsvReader c(dir / "inside.csv");
              while (c.next(f)) {
              }
            }).find("inside.csv:2: a quote inside an unquoted field"),
            std::string::npos);
}

// The CSV file is read as every other input is (tensor/files.h read_file): a FIFO in its
// place is refused at once, naming it, rather than read until something writes to it.
TEST(CsvParse, AFifoIsRefusedWithoutBlocking) {
  TempDir dir;
  const std::string fifo = dir / "train.csv";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto result = std::make_shared<std::string>();
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread([fifo, result, done] {
    *result = error_of([&] { CsvReader c(fifo); });
    done->store(true);
  }).detach();  // if the read blocks, the thread stays behind and the test fails below
  for (int i = 0; i < 100 && !done->load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(done->load()) << "reading a FIFO blocked";
  EXPECT_NE(result->find(fifo + ": cannot open the CSV file: not a regular file"), std::string::npos) << *result;
}

TEST(CsvData, ClassesAreTheSortedLabelsAndFeaturesTheOtherColumns) {
  TempDir dir;
  write_text(dir / "train.csv", "x,label,y\n1,10,2\n3,2,4\n5,1,6\n7,2,8\n");
  write_text(dir / "test.csv", "x,label,y\n1,1,2\n");
  const Dataset d = load_csv_dir(dir.path(), true, label("label"));
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"1", "2", "10"}));  // numerically, not "1", "10", "2"
  EXPECT_EQ(d.labels, (std::vector<int32_t>{2, 1, 0, 1}));
  EXPECT_EQ(d.features, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(d.sample, Shape{2});
  EXPECT_TRUE(d.floats);
  EXPECT_EQ(d.values, (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}));
  // Text labels sort as text; the test split takes the classes it is given.
  write_text(dir / "train.csv", "label,x\nb,1\na,2\nc,3\n");
  EXPECT_EQ(load_csv_dir(dir.path(), true, label("label")).class_names, (std::vector<std::string>{"a", "b", "c"}));
  ReadOptions o = label("label");
  o.class_names = {"0", "1"};
  EXPECT_EQ(load_csv_dir(dir.path(), false, o).labels, (std::vector<int32_t>{1}));
}

TEST(CsvData, WithoutATestFileAFixedFifthOfTheRowsIsHeldOut) {
  TempDir dir;
  std::string text = "id,label\n";
  for (int i = 0; i < 500; ++i) text += std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  write_text(dir / "train.csv", text);
  const Dataset train = load_csv_dir(dir.path(), true, label("label"));
  const Dataset test = load_csv_dir(dir.path(), false, label("label"));
  EXPECT_EQ(train.size() + test.size(), 500);
  EXPECT_NEAR(static_cast<double>(test.size()), 100, 30);
  std::set<float> ids(train.values.begin(), train.values.end());
  for (float v : test.values) EXPECT_EQ(ids.count(v), 0u) << "row " << v << " in both splits";
  ids.insert(test.values.begin(), test.values.end());
  EXPECT_EQ(ids.size(), 500u);
  EXPECT_EQ(load_csv_dir(dir.path(), false, label("label")).values, test.values);  // the same every time
}

TEST(CsvData, EveryBadFileIsNamedWithItsLineAndColumn) {
  TempDir dir;
  const std::string train = dir / "train.csv";
  struct Case {
    std::string text, says;
  };
  const Case cases[] = {
      {"", train + ": the file is empty (expected a header row"},
      {"\n\n", train + ": the file is empty"},
      {"a,b,label\n", train + ": no data rows after the header"},
      {"a,b,species\n1,2,x\n", train + ":1: no column named 'label' (the label column, data.label); the header's columns are: a, b, species"},
      {"a,,label\n1,2,x\n", train + ":1: column 2 of the header has no name"},
      {"a,a,label\n1,2,x\n", train + ":1: the header names column 'a' twice"},
      {"label\nx\n", train + ":1: the header names only the label column"},
      {"a,b,label\n1,2,x\n3,4\n", train + ":3: 2 fields, expected 3 as in the header (a, b, label)"},
      {"a,b,label\n1,2,x\n3,4,y,5\n", train + ":3: 4 fields, expected 3"},
      {"a,\"b c\",label\n1,2,x\n\n3,abc,y\n", train + ":4, column 2 'b c': 'abc' is not a number"},
      {"a,b,label\n1,,x\n", train + ":2, column 2 'b': '' is not a number"},
      {"a,b,label\n1,nan,x\n", train + ":2, column 2 'b': 'nan' is not a number"},
      {"a,b,label\n1,2,\n", train + ":2, column 3 'label': the label is empty"},
  };
  for (const Case& c : cases) {
    write_text(train, c.text);
    write_text(dir / "test.csv", "a,b,label\n1,2,x\n");
    const std::string err = error_of([&] { load_csv_dir(dir.path(), true, label("label")); });
    EXPECT_NE(err.find(c.says), std::string::npos) << "for:\n" << c.text << "\ngot: " << err;
  }
  write_text(train, "a,label\n1,x\n2,y\n");
  write_text(dir / "test.csv", "a,label\n1,x\n2,z\n");
  ReadOptions o = label("label");
  o.class_names = {"x", "y"};
  EXPECT_EQ(error_of([&] { load_csv_dir(dir.path(), false, o); }),
            dir / "test.csv" + ":3, column 'label': class 'z' is not one of the training classes (x, y)");
  fs::remove(train);
  EXPECT_NE(error_of([&] { load_csv_dir(dir.path(), true, o); }).find(dir.path() + ": no train.csv"), std::string::npos);
}

// A float dataset splits like an image one: the validation rows leave the training set.
TEST(CsvData, AValidationSplitOfATable) {
  TempDir dir;
  write_text(dir / "train.csv", blobs_csv(90, 1));
  write_text(dir / "test.csv", blobs_csv(30, 2));
  DataConfig cfg;
  cfg.dataset = "csv";
  cfg.dir = dir.path();
  cfg.label = "species";
  cfg.validation = 0.2;
  const Data d = load_data(cfg, 7);
  EXPECT_EQ(d.train.size(), 72);
  EXPECT_EQ(d.val.size(), 18);
  EXPECT_EQ(static_cast<int64_t>(d.val.values.size()), 18 * 4);
  EXPECT_EQ(static_cast<int64_t>(d.train.values.size()), 72 * 4);
  EXPECT_EQ(d.test.class_names, d.train.class_names);
  // Standardisation from the training rows: the year column's mean near 2040, std near 33.
  ASSERT_EQ(d.norm.mean.size(), 4u);
  EXPECT_NEAR(d.norm.mean[1], 2040, 5);
  EXPECT_NEAR(d.norm.std[1], 33, 4);
  double sum = 0;
  for (int64_t i = 0; i < d.train.size(); ++i) sum += d.train.sample_values(i)[1];
  EXPECT_NEAR(d.norm.mean[1], sum / static_cast<double>(d.train.size()), 1e-3);
}

class CsvRun : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir_ / "train.csv", blobs_csv(300, 11));
    write_text(dir_ / "test.csv", blobs_csv(90, 12));
    runs_ = dir_ / "runs";
  }
  TempDir dir_;
  std::string runs_;
};

// The separable table trains to near-perfect accuracy; the weights carry the column names, the
// label column and each column's mean and std; `kiln eval` of the run and of the bare weights
// file reproduce the run's test loss bit for bit; a row predicted alone gives the softmax of
// the model's output on the row standardised by hand.
TEST_F(CsvRun, TrainsStandardisedAndTheStandardisationTravelsWithTheModel) {
  const Experiment e = parse_experiment(experiment(dir_.path(), 8), "table.toml");
  const RunResult r = train(e, quiet(runs_));
  ASSERT_EQ(r.status, RunResult::Status::completed) << r.message;
  EXPECT_GE(r.test_accuracy, 0.95);

  SavedRun run = open_saved_run(r.run_dir);
  const Preprocessing& p = run.model.preprocessing();
  EXPECT_EQ(p.dataset, "csv");
  EXPECT_EQ(p.label, "species");
  EXPECT_EQ(p.features, (std::vector<std::string>{"petal, length", "year", "tiny", "noise"}));
  EXPECT_EQ(p.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  DataConfig cfg = e.data;
  const Data data = load_data(cfg, e.seed);
  EXPECT_EQ(p.mean, data.norm.mean);
  EXPECT_EQ(p.std, data.norm.std);
  EXPECT_NEAR(p.mean[1], 2040, 5);

  EXPECT_EQ(evaluate_saved(run, "", 0).ev.loss, r.test_loss);
  const std::string alone = dir_ / "alone.kiln";
  fs::copy_file(r.run_dir + "/weights.kiln", alone);
  SavedRun bare = open_saved_run(alone);
  ASSERT_FALSE(bare.experiment);
  const SavedEvaluation ev = evaluate_saved(bare, dir_.path(), 1000);
  EXPECT_EQ(ev.ev.loss, r.test_loss);  // the label column came from the file, not a config
  EXPECT_EQ(ev.ev.accuracy, r.test_accuracy);

  // Rows with the columns in another order and no label column predict the same.
  const float row[4] = {2.1f, 2043.f, 0.0001f, 0.3f};
  write_text(dir_ / "rows.csv", "noise,tiny,year,\"petal, length\"\n0.3,0.0001,2043,2.1\n");
  const std::vector<Prediction> got = predict_csv(bare.model, dir_ / "rows.csv", 3);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].input, dir_ / "rows.csv" + ":2");
  Tensor x(Shape{1, 4});
  for (int i = 0; i < 4; ++i) x[i] = static_cast<Real>((row[i] - static_cast<double>(p.mean[static_cast<size_t>(i)])) /
                                                      p.std[static_cast<size_t>(i)]);
  Pass pass;
  pass.backward = false;
  const Tensor& out = bare.model.forward(x, pass);
  double sum = 0;
  for (int k = 0; k < 3; ++k) sum += std::exp(static_cast<double>(out[k]));
  for (const ClassScore& s : got[0].top) EXPECT_NEAR(s.probability, std::exp(static_cast<double>(out[s.index])) / sum, 1e-6);
  EXPECT_EQ(got[0].top[0].name, "versicolor");
}

TEST_F(CsvRun, PredictNamesMissingColumnsAndRefusesImageModels) {
  const RunResult r = train(parse_experiment(experiment(dir_.path(), 1), "table.toml"), quiet(runs_));
  ASSERT_EQ(r.status, RunResult::Status::completed) << r.message;
  SavedRun run = open_saved_run(r.run_dir);
  write_text(dir_ / "rows.csv", "year,tiny,noise\n1,2,3\n");
  EXPECT_EQ(error_of([&] { predict_csv(run.model, dir_ / "rows.csv", 3); }),
            dir_ / "rows.csv" + ":1: no column named 'petal, length' (a feature the model was trained on); the header's "
                                 "columns are: year, tiny, noise");
  write_text(dir_ / "rows.csv", "year,tiny,noise,\"petal, length\"\n1,2,3,4\n1,2,x,4\n");
  EXPECT_EQ(error_of([&] { predict_csv(run.model, dir_ / "rows.csv", 3); }),
            dir_ / "rows.csv" + ":3, column 3 'noise': 'x' is not a number (features must be finite numbers; only the "
                                 "label column may hold text)");
  Model images = build_model(Shape{1, 4, 4}, {"flatten", "dense 3"}, 1);
  EXPECT_NE(error_of([&] { predict_csv(images, dir_ / "rows.csv", 3); }).find("not trained on a table"), std::string::npos);
}

// The command line: one line per row ("FILE:LINE  class p ..."), --top, --json, the label
// column ignored when present.
TEST_F(CsvRun, PredictCsvOnTheCommandLine) {
  TrainOptions o = quiet(runs_);
  o.write_report = true;  // rows have no pixels: the report shows no example images, and does not read any
  const RunResult r = train(parse_experiment(experiment(dir_.path(), 6), "table.toml"), o);
  ASSERT_EQ(r.status, RunResult::Status::completed) << r.message;
  EXPECT_NE(slurp(r.run_dir + "/report.html").find("setosa"), std::string::npos);
  write_text(dir_ / "rows.csv", blobs_csv(3, 99));  // with the label column: rows of setosa, versicolor, virginica
  const std::string out = dir_ / "out", err = dir_ / "err";
  auto kiln = [&](const std::string& args) {
    const std::string cmd = "'" KILN_CLI_PATH "' " + args + " </dev/null >'" + out + "' 2>'" + err + "'";
    const int raw = std::system(cmd.c_str());
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  };
  ASSERT_EQ(kiln("predict '" + r.run_dir + "' --csv '" + (dir_ / "rows.csv") + "' --top 2"), 0) << slurp(err);
  std::istringstream lines(slurp(out));
  std::string line;
  const char* names[3] = {"setosa", "versicolor", "virginica"};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(std::getline(lines, line));
    const std::string head = dir_ / "rows.csv" + ":" + std::to_string(i + 2) + "  " + names[i] + " ";
    EXPECT_EQ(line.rfind(head, 0), 0u) << line << "\nexpected to start with " << head;
    EXPECT_EQ(std::count(line.begin(), line.end(), '.'), 2 + 1) << line;  // two probabilities (and the .csv)
  }
  EXPECT_FALSE(std::getline(lines, line));
  ASSERT_EQ(kiln("predict '" + r.run_dir + "/weights.kiln' --csv '" + (dir_ / "rows.csv") + "' --top 1 --json"), 0)
      << slurp(err);
  const std::string json = slurp(out);
  EXPECT_NE(json.find("{\"input\": \"" + (dir_ / "rows.csv") + ":2\", \"top\": [{\"class\": \"setosa\", \"index\": 0, "
                      "\"probability\": "),
            std::string::npos)
      << json;
  EXPECT_EQ(kiln("predict '" + r.run_dir + "' --csv '" + (dir_ / "nowhere.csv") + "'"), 1);
  EXPECT_NE(slurp(err).find("nowhere.csv: cannot open the CSV file"), std::string::npos) << slurp(err);
  ASSERT_EQ(kiln("predict --help"), 0);
  EXPECT_NE(slurp(out).find("--csv FILE"), std::string::npos) << slurp(out);
}

// An ONNX file carries no column names: `kiln predict MODEL.onnx --csv` is refused, saying
// --columns names them; with --columns (in the model's input order) the rows are found by name
// and predicted as the kiln model predicts them.
TEST_F(CsvRun, PredictAnOnnxTableModelWithNamedColumns) {
  const RunResult r = train(parse_experiment(experiment(dir_.path(), 4), "table.toml"), quiet(runs_));
  ASSERT_EQ(r.status, RunResult::Status::completed) << r.message;
  const std::string out = dir_ / "out", err = dir_ / "err", onnx = dir_ / "table.onnx";
  auto kiln = [&](const std::string& args) {
    const std::string cmd = "'" KILN_CLI_PATH "' " + args + " </dev/null >'" + out + "' 2>'" + err + "'";
    const int raw = std::system(cmd.c_str());
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  };
  ASSERT_EQ(kiln("export '" + r.run_dir + "' '" + onnx + "'"), 0) << slurp(err);
  write_text(dir_ / "rows.csv", blobs_csv(3, 99));
  const std::string rows = "'" + (dir_ / "rows.csv") + "'";
  ASSERT_EQ(kiln("predict '" + r.run_dir + "' --csv " + rows + " --top 3"), 0) << slurp(err);
  const std::string from_run = slurp(out);
  EXPECT_EQ(kiln("predict '" + onnx + "' --csv " + rows), 1);
  EXPECT_NE(slurp(err).find("name its input columns with --columns A,B,..."), std::string::npos) << slurp(err);
  ASSERT_EQ(kiln("predict '" + onnx + "' --csv " + rows + " --top 3 --columns 'petal, length,year,tiny,noise'"), 1)
      << "a comma inside a name splits it";
  EXPECT_NE(slurp(err).find("5 names, but the model takes 4 values per row"), std::string::npos) << slurp(err);
  // The header's names; the comma of "petal, length" cannot be given, so rename that column.
  std::string renamed = blobs_csv(3, 99);
  renamed.replace(0, std::string("\"petal, length\"").size(), "petal_length");
  write_text(dir_ / "renamed.csv", renamed);
  ASSERT_EQ(kiln("predict '" + onnx + "' --csv '" + (dir_ / "renamed.csv") + "' --top 3 --columns petal_length,year,tiny,noise"),
            0)
      << slurp(err);
  const std::string from_onnx = slurp(out);
  // The same classes and probabilities (to the printed 4 decimals), row for row.
  std::istringstream a(from_run), b(from_onnx);
  std::string la, lb;
  int n = 0;
  while (std::getline(a, la) && std::getline(b, lb)) {
    EXPECT_EQ(la.substr(la.find("  ")), lb.substr(lb.find("  "))) << la << "\n" << lb;
    ++n;
  }
  EXPECT_EQ(n, 3);
  EXPECT_EQ(kiln("predict '" + onnx + "' --csv " + rows + " --columns a,a,b,c"), 1);
  EXPECT_NE(slurp(err).find("'a' is named twice"), std::string::npos) << slurp(err);
  EXPECT_EQ(kiln("predict '" + r.run_dir + "' --csv " + rows + " --columns a,b,c,d"), 1);
  EXPECT_NE(slurp(err).find("the model records its own columns"), std::string::npos) << slurp(err);
}
