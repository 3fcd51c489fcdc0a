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
