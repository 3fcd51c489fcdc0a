#include "train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

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
    constexpr int width = 24;
    const int filled = static_cast<int>(width * done / total_);
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < width) bar += '>';
    bar.resize(width, ' ');
    std::fprintf(stderr, "\r\033[K%s [%s] %lld/%lld  %s  ETA %s", label_.c_str(), bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), extra.c_str(), format_duration(eta).c_str());
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
