#include "train/stop.h"

#include <atomic>
#include <csignal>

namespace kiln {

namespace {

std::atomic<int> g_stop{0};

extern "C" void on_stop_signal(int sig) {
  g_stop.store(sig);
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested() { return g_stop.load() != 0; }
void request_stop() { g_stop.store(-1); }
void clear_stop() { g_stop.store(0); }

}  // namespace kiln
