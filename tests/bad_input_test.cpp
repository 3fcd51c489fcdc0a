// Bad input never crashes, hangs or misleads (issue "trust every number"): each category of
// the corpus of bad inputs, with cases built here. Every case must end in a kiln::Error whose
// message names the thing at fault, and leave nothing behind it should not.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "config/experiment.h"
#include "data/idx.h"
#include "model/build.h"
#include "synthetic_idx.h"
#include "tensor/binio.h"
#include "train/run_folder.h"
#include "train/setup.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace kiln;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("kiln-bad-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

}  // namespace

// ---- paths ----

// A symlink planted where the temporary file goes must not be followed: the file it points to
// stays as it was, and the write still lands.
TEST_F(BadInput, AtomicWritesDoNotFollowAPlantedTemporarySymlink) {
  const std::string victim = dir_ + "/victim", target = dir_ + "/manifest.toml";
  { std::ofstream(victim) << "precious"; }
  fs::create_symlink(victim, target + ".tmp");
  write_file_atomic(target, "written");
  EXPECT_EQ(read_text_file(victim), "precious");
  EXPECT_EQ(read_text_file(target), "written");
  EXPECT_FALSE(fs::exists(target + ".tmp"));
}

// A FIFO where a data file should be: an error naming it at once, not a read that blocks forever.
TEST_F(BadInput, AFifoAsADataFileIsRefusedWithoutBlocking) {
  kiln::testing::write_idx_pair(dir_, "train", 8, 1);
  kiln::testing::write_idx_pair(dir_, "t10k", 8, 2);
  fs::remove(dir_ + "/train-images-idx3-ubyte");
  ASSERT_EQ(::mkfifo((dir_ + "/train-images-idx3-ubyte").c_str(), 0600), 0);
  auto result = std::make_shared<std::string>();
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread([d = dir_, result, done] {
    *result = error_of([&] { load_idx_dir(d, true); });
    done->store(true);
  }).detach();  // if the read blocks, the thread stays behind and the test fails below
  for (int i = 0; i < 100 && !done->load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(done->load()) << "reading a FIFO blocked";
  EXPECT_NE(result->find("train-images-idx3-ubyte"), std::string::npos) << *result;
  EXPECT_NE(result->find("not a regular file"), std::string::npos) << *result;
}

// A symlink loop is a kiln::Error naming the path, not an exception from the file system library.
TEST_F(BadInput, ASymlinkLoopIsAnErrorNamingThePath) {
  fs::create_symlink(dir_ + "/b", dir_ + "/a");
  fs::create_symlink(dir_ + "/a", dir_ + "/b");
  const std::string msg = error_of([&] { load_idx_dir(dir_ + "/a", true); });
  EXPECT_NE(msg.find(dir_ + "/a"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { load_experiment(dir_ + "/a"); }).find(dir_ + "/a"), std::string::npos);
}

// Run and variant names become one path component: nothing escapes the runs folder, nothing
// hidden, no control characters, whatever the experiment's name says.
TEST_F(BadInput, RunNamesCannotEscapeTheRunsFolder) {
  for (const std::string name : {"../../x", "/etc/passwd", "..", ".", "a/../../b", "tab\there", "new\nline", "", "-rf"}) {
    const std::string made = make_run_dir(dir_ + "/runs", name);
    EXPECT_EQ(fs::path(made).parent_path(), fs::path(dir_ + "/runs")) << name;
    const std::string leaf = fs::path(made).filename().string();
    EXPECT_NE(leaf[0], '.') << name;
    EXPECT_NE(leaf[0], '-') << name;
    for (char c : leaf) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || std::string("._-=,").find(c) != std::string::npos) << name;
  }
  EXPECT_EQ(safe_name(std::string(500, 'a')).size(), 64u);
}

// ---- configs and layer specs ----

namespace {

const char* kBase = "name = \"t\"\n[data]\ndataset = \"idx\"\ndir = \"/nonexistent\"\n[model]\nlayers = [\"dense 10\"]\n";

std::string parse_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return error_of([&] { parse_experiment(text, "exp.toml", overrides); });
}

std::string build_error(const std::vector<std::string>& layers, const Shape& input = Shape{1, 28, 28}) {
  return error_of([&] { build_model(input, layers, 1); });
}

}  // namespace

// Nesting is bounded before anything recurses: arrays, inline tables and residual blocks
// 30,000 deep are errors naming the line, not stack overflows.
TEST(BadConfig, DeepNestingIsRefusedBeforeItRecurses) {
  const int depth = 30000;
  const std::string arrays = std::string(kBase) + "x = " + std::string(depth, '[') + std::string(depth, ']') + "\n";
  EXPECT_NE(parse_error(arrays).find("nested more than"), std::string::npos);
  std::string tables = std::string(kBase) + "x = ";
  for (int i = 0; i < depth; ++i) tables += "{a = ";
  tables += "1" + std::string(depth, '}') + "\n";
  EXPECT_NE(parse_error(tables).find("nested more than"), std::string::npos);
  EXPECT_NE(parse_error(kBase, {"model.layers=" + std::string(depth, '[') + std::string(depth, ']')}).find("nested"),
            std::string::npos);
  std::string block = "dense 4";
  for (int i = 0; i < 2000; ++i) block = "residual { " + block + " }";
  EXPECT_NE(build_error({block}, Shape{4}).find("nested more than"), std::string::npos);
}

// Integers that do not fit, and numbers that are not finite, are errors naming the key and the
// allowed range, never saturated or passed on.
TEST(BadConfig, OverflowingAndNonFiniteNumbersAreRefusedWithTheRange) {
  auto key_error = [](const std::string& set) { return parse_error(kBase, {set}); };
  std::string e = key_error("train.batch_size=99999999999999999999");
  EXPECT_NE(e.find("train.batch_size"), std::string::npos) << e;
  EXPECT_NE(e.find("[1, "), std::string::npos) << e;
  e = key_error("data.crop_pad=2e62");
  EXPECT_NE(e.find("data.crop_pad"), std::string::npos) << e;
  for (const char* bad : {"optimizer.lr=nan", "optimizer.lr=inf", "optimizer.weight_decay=-inf", "schedule.gamma=nan",
                          "optimizer.lr=-0.1", "train.threads=100000", "train.epochs=0", "data.validation=1.0"}) {
    e = key_error(bad);
    const std::string key = std::string(bad).substr(0, std::string(bad).find('='));
    EXPECT_NE(e.find(key), std::string::npos) << bad << ": " << e;
    EXPECT_NE(e.find("must be"), std::string::npos) << bad << ": " << e;
  }
  EXPECT_NE(key_error("optimizer.lrr=0.1").find("did you mean 'lr'"), std::string::npos);
  EXPECT_NE(key_error("optimzer.lr=0.1").find("did you mean 'optimizer'"), std::string::npos);
}

// Layer sizes are bounded where the layer is made, with the layer named: no segfault, no
// "out of memory" that names nothing.
TEST(BadConfig, HugeOrNonFiniteLayerArgumentsNameTheLayer) {
  for (const std::vector<std::string>& layers :
       {std::vector<std::string>{"dense 9223372036854775807"}, {"dense 99999999999999999999"}, {"dense 1000000000"},
        {"conv 100000000 3x3"}, {"conv 16 100000x3"}, {"conv 16 3x3 stride=9223372036854775807"},
        {"leakyrelu nan"}, {"leakyrelu 1e999"}, {"dropout inf"}, {"bn momentum=nan"}, {"maxpool 9223372036854775807"}}) {
    const std::string e = build_error(layers);
    EXPECT_NE(e.find("layer '" + layers[0] + "'"), std::string::npos) << layers[0] << ": " << e;
  }
}

TEST(BadConfig, AnActivationTooLargeForMemoryNamesItsLayer) {
  const std::string e = error_of([] { check_memory(build_model(Shape{1, 28, 28}, {"conv 64 5x5 pad=2", "dense 10"}, 1), 1000000); });
  EXPECT_NE(e.find("conv 64 5x5 pad=2"), std::string::npos) << e;
  EXPECT_NE(e.find("train.batch_size"), std::string::npos) << e;
}
