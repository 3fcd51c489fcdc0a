#pragma once
// A one-line live progress bar on a terminal (redrawn with \r at most ~10 times a second);
// on a pipe or file, a plain line every 10% instead, so logs stay readable.
#include <chrono>
#include <cstdint>
#include <string>

namespace kiln {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled);
  // done: items finished; extra: text after the bar ("loss 0.41  acc 85.2%  12.3k img/s").
  void update(int64_t done, const std::string& extra);
  void finish();  // clears the bar
  static bool stderr_is_terminal();

 private:
  std::string label_;
  int64_t total_;
  bool enabled_, tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

// The bar's line for a terminal `columns` wide, never wider (so it never wraps, which would
// defeat the \r redraw): the bar shrinks first (to 8 cells, then goes), then the ETA, then
// the text after the bar is cut.
std::string progress_line(const std::string& label, int64_t done, int64_t total, const std::string& extra,
                          const std::string& eta, int columns);
// Columns of the terminal on stderr (TIOCGWINSZ), else $COLUMNS, else 80.
int terminal_columns();

std::string format_duration(double seconds);  // "1:05", "1:02:03"
std::string format_rate(double per_second);   // "12.3k"

}  // namespace kiln
