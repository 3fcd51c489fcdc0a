#include "train/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kiln {

bool Progress::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)), total_(total > 0 ? total : 1), enabled_(enabled), tty_(stderr_is_terminal()),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  auto t = static_cast<int64_t>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                  static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(t / 60), static_cast<long long>(t % 60));
  return buf;
}

int terminal_columns() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    char* end = nullptr;
    const long v = std::strtol(c, &end, 10);
    if (end != c && *end == '\0' && v > 0 && v < 100000) return static_cast<int>(v);
  }
  return 80;
}

std::string progress_line(const std::string& label, int64_t done, int64_t total, const std::string& extra,
                          const std::string& eta, int columns) {
  total = total > 0 ? total : 1;
  const std::string count = std::to_string(done) + "/" + std::to_string(total);
  const std::string tail = eta.empty() ? "" : "  ETA " + eta;
  // Fixed parts: "label " + "[bar] " + count + "  " + extra + tail; the terminal's last column
  // is left free (writing it makes some terminals wrap at once).
  const int budget = std::max(columns - 1, 1);
  auto fixed = [&](bool with_tail) {
    return static_cast<int>(label.size() + 1 + count.size() + (extra.empty() ? 0 : 2 + extra.size()) +
                            (with_tail ? tail.size() : 0));
  };
  const bool with_tail = fixed(true) + 3 + 8 <= budget;  // keep the ETA only beside a usable bar
  int width = std::min(24, budget - fixed(with_tail) - 3);
  std::string line = label + " ";
  if (width >= 8) {
    const int filled = static_cast<int>(width * std::min(done, total) / total);
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < width) bar += '>';
    bar.resize(static_cast<size_t>(width), ' ');
    line += "[" + bar + "] ";
  }
  line += count;
  if (!extra.empty()) line += "  " + extra;
  if (with_tail) line += tail;
  if (static_cast<int>(line.size()) > budget) line.resize(static_cast<size_t>(budget));
  return line;
}

std::string format_rate(double r) {
  char buf[32];
  if (r >= 1e6) std::snprintf(buf, sizeof buf, "%.1fM", r / 1e6);
  else if (r >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", r / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", r);
  return buf;
}

void Progress::update(int64_t done, const std::string& extra) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : NAN;
  if (tty_) {
    if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    // Asked each draw: the user may resize the window during a long epoch.
    const std::string line = progress_line(label_, done, total_, extra, format_duration(eta), terminal_columns());
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    drawn_ = true;
  } else {
    const int decile = static_cast<int>(10 * done / total_);
    if (decile == last_decile_ || decile == 0) return;
    last_decile_ = decile;
    std::fprintf(stderr, "%s %3d%%  %lld/%lld  %s  ETA %s\n", label_.c_str(), decile * 10, static_cast<long long>(done),
                 static_cast<long long>(total_), extra.c_str(), format_duration(eta).c_str());
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_ && tty_ && drawn_) std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace kiln
