// The kiln command as a user meets it: every command answers --help, and every bad input
// (a typo, a missing file, a value out of range, a malformed file) ends with a message that
// names it and an exit status of 1 (bad input) or 2 (bad command line), never a crash or an
// "internal error".
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "image_files.h"

namespace fs = std::filesystem;

namespace {

struct Outcome {
  int status = -1;  // exit status, or 128 + signal
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kiln-cli-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "empty");
    std::ofstream(dir_ / "typo.toml") << "name = \"x\"\n[model]\nlayers = [\"conv 8 3x3\", \"rleu\", \"dense 10\"]\n";
    std::ofstream(dir_ / "good.toml") << "name = \"good\"\n[model]\nlayers = [\"dense 10\"]\n";
    std::ofstream(dir_ / "broken.toml") << "name = \"x\"\n[model\n";
    ::mkfifo((dir_ / "fifo.toml").c_str(), 0600);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `kiln ARGS` in the test's folder (a run it might start lands there), stdin closed;
  // `tag` names its output files, so that several can run at once.
  Outcome kiln(const std::string& args, const std::string& tag = "0") const {
    const fs::path out = dir_ / ("out" + tag), err = dir_ / ("err" + tag);
    const std::string cmd = "cd '" + dir_.string() + "' && '" KILN_CLI_PATH "' " + args + " </dev/null >'" +
                            out.string() + "' 2>'" + err.string() + "'";
    const int raw = std::system(cmd.c_str());
    Outcome o;
    o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    o.out = slurp(out);
    o.err = slurp(err);
    return o;
  }

  fs::path dir_;
};

TEST_F(Cli, EveryCommandAnswersHelp) {
  for (const char* cmd : {"train", "eval", "summary", "gradcheck", "report", "sweep", "import", "help"}) {
    const Outcome o = kiln(std::string(cmd) + " --help");
    EXPECT_EQ(o.status, 0) << cmd << ": " << o.err;
    EXPECT_NE(o.out.find(std::string("Usage: kiln ") + cmd), std::string::npos) << cmd << ": " << o.out;
    EXPECT_TRUE(o.err.empty()) << cmd << ": " << o.err;
  }
  const Outcome top = kiln("--help");
  EXPECT_EQ(top.status, 0);
  for (const char* cmd : {"train", "eval", "summary", "gradcheck", "report", "sweep", "import", "help"})
    EXPECT_NE(top.out.find(std::string("  ") + cmd + " "), std::string::npos) << "kiln --help lists " << cmd;
  const Outcome keys = kiln("help keys");
  EXPECT_EQ(keys.status, 0);
  EXPECT_NE(keys.out.find("optimizer.lr"), std::string::npos);
  EXPECT_NE(kiln("help layers").out.find("conv"), std::string::npos);
}

// An option before the file takes its one value and leaves the file alone (CLI11 options bound
// to a list took every argument after them: `--set K=V FILE` read FILE as a second --set).
TEST_F(Cli, OptionsBeforeTheFileLeaveItToTheFile) {
  for (const char* args : {"summary --set train.epochs=2 good.toml", "summary --set train.epochs=2 --set train.batch_size=8 good.toml",
                           "summary good.toml --set train.epochs=2"}) {
    const Outcome o = kiln(args);
    EXPECT_EQ(o.status, 0) << args << ": " << o.err;
    EXPECT_NE(o.out.find("good (good.toml)"), std::string::npos) << args << ": " << o.out;
  }
}

TEST_F(Cli, BadInputIsNamedNeverACrash) {
  struct Case {
    std::string args;
    int status;
    std::string says;  // in stderr
  };
  const Case cases[] = {
      {"", 2, "usage: kiln COMMAND"},
      {"trian", 2, "did you mean 'train'"},
      {"train nofile.toml", 1, "nofile.toml: cannot open experiment file"},
      {"train fifo.toml", 1, "not a regular file"},
      {"train --set train.epochs=abc", 1, "--set train.epochs=abc: key 'train.epochs': expected an integer"},
      {"train --set train.epochs=0", 1, "train.epochs"},
      {"train --set nokey=1", 1, "'nokey': unknown key"},
      {"train --set optimizer.lr", 1, "expected KEY=VALUE"},
      {"train --threads x", 2, "--threads: expected an integer [0, 1024], got 'x'"},
      {"train --threads 5000", 2, "[0, 1024]"},
      {"train --epochs 3", 2, "use --set train.epochs=VALUE"},
      {"train --device tpu", 1, "'tpu' is not one of cpu or cuda"},
      {"train --resume empty", 1, "no checkpoint.kiln"},
      {"train --set data.dir=nowhere", 1, "no such folder"},
      {"train --set data.dataset=mnst", 1, "did you mean 'mnist'"},
      {"eval", 2, "expected RUN|FILE"},
      {"eval nowhere", 1, "nowhere: no such run folder or file"},
      {"eval empty", 1, "neither weights.kiln nor checkpoint.kiln"},
      {"eval typo.toml", 1, "typo.toml"},
      {"summary typo.toml", 1, "unknown layer 'rleu' (did you mean 'relu'?)"},
      {"summary broken.toml", 1, "broken.toml"},
      {"summary --set model.layers=[1]", 1, "expected an array of strings"},
      {"gradcheck typo.toml", 1, "did you mean 'relu'"},
      {"report nowhere", 1, "nowhere"},
      {"sweep nofile.toml", 1, "nofile.toml: cannot open sweep file"},
      {"sweep broken.toml", 1, "broken.toml"},
      {"help nosuch", 2, "topics: keys, layers"},
      {"summary --threads 2 good.toml", 2, "unknown option '--threads'"},
      {"summary good.toml extra", 2, "expected at most 1 FILE, got 2"},
      {"eval --threads 100000 x", 2, "[0, 1024]"},
      {"train --set data.augment.crop_pad=2e62", 1, "--set data.augment.crop_pad=2e62: key 'data.augment': unknown key"},
      {"train --set data.crop_pad=2e62", 1, "expected an integer"},
  };
  // Each start costs most of a second where kiln links the CUDA libraries: run them side by side.
  std::vector<std::future<Outcome>> runs;
  for (size_t i = 0; i < std::size(cases); ++i)
    runs.push_back(std::async(std::launch::async, [this, &cases, i] { return kiln(cases[i].args, std::to_string(i)); }));
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    const Outcome o = runs[i].get();
    EXPECT_EQ(o.status, c.status) << "kiln " << c.args << "\n" << o.err;
    EXPECT_NE(o.err.find(c.says), std::string::npos) << "kiln " << c.args << ": expected '" << c.says << "' in\n" << o.err;
    EXPECT_EQ(o.err.find("internal error"), std::string::npos) << "kiln " << c.args << "\n" << o.err;
    EXPECT_EQ(o.err.find("terminate called"), std::string::npos) << "kiln " << c.args;
    EXPECT_FALSE(fs::exists(dir_ / "runs")) << "kiln " << c.args << " made a run folder";
  }
}

}  // namespace

TEST_F(Cli, NoProgressSilencesTheImageDecodingBar) {
  // The decoding bar prints a line every 10% on a pipe; --no-progress silences it as it does the
  // training bar (the bar ignored the flag: the trainer's option never reached the loader).
  kiln::testing::write_png_folder((dir_ / "imgs").string(), "train", {"a", "b"}, 3, 6, 6);
  kiln::testing::write_png_folder((dir_ / "imgs").string(), "test", {"a", "b"}, 1, 6, 6);
  const std::string args = "train good.toml --set data.dataset=folder --set data.dir=imgs --set train.epochs=1 --threads 1";
  const Outcome shown = kiln(args, "shown");
  ASSERT_EQ(shown.status, 0) << shown.err;
  EXPECT_NE(shown.err.find("decoding train"), std::string::npos) << shown.err;
  const Outcome quiet = kiln(args + " --no-progress", "quiet");
  ASSERT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("decoding"), std::string::npos) << quiet.err;
}
