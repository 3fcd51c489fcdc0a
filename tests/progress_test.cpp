#include <gtest/gtest.h>

#include "train/progress.h"

namespace kiln {

// The live bar is redrawn with \r: a line wider than the terminal wraps and every redraw
// then leaves a stale copy behind, so the line must fit whatever the width.
TEST(Progress, LineNeverWiderThanTheTerminal) {
  const std::string extra = "loss 0.4123  acc 85.2%  12.3k img/s";
  for (int columns : {1, 5, 20, 40, 60, 80, 120, 300}) {
    const std::string line = progress_line("epoch 3/10", 450, 938, extra, "0:41", columns);
    EXPECT_LE(static_cast<int>(line.size()), std::max(columns - 1, 1)) << columns << ": " << line;
  }
}

TEST(Progress, WideTerminalShowsEverythingNarrowOneDropsTheBarFirst) {
  const std::string extra = "loss 0.4123  12.3k img/s";
  const std::string wide = progress_line("epoch 3/10", 469, 938, extra, "0:41", 200);
  EXPECT_EQ(wide, "epoch 3/10 [============>           ] 469/938  loss 0.4123  12.3k img/s  ETA 0:41");
  // 50 columns: no room for a bar of 8 beside the text, so the bar and ETA go and the numbers stay.
  const std::string narrow = progress_line("epoch 3/10", 469, 938, extra, "0:41", 50);
  EXPECT_EQ(narrow, "epoch 3/10 469/938  loss 0.4123  12.3k img/s");
  const std::string done = progress_line("eval", 10, 10, "", "", 80);
  EXPECT_EQ(done, "eval [========================] 10/10");
}

TEST(Progress, ColumnsFromTheEnvironmentWhenStderrIsNoTerminal) {
  if (Progress::stderr_is_terminal()) GTEST_SKIP() << "stderr is a terminal: its own width wins";
  ::setenv("COLUMNS", "57", 1);
  EXPECT_EQ(terminal_columns(), 57);
  ::setenv("COLUMNS", "wide", 1);
  EXPECT_EQ(terminal_columns(), 80);
  ::unsetenv("COLUMNS");
  EXPECT_EQ(terminal_columns(), 80);
}

}  // namespace kiln
