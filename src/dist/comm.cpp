#include "dist/comm.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>

namespace kiln {

namespace {

// One rank, no one to talk to: every collective is the identity.
class LocalComm final : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  const char* kind() const override { return "local"; }
  void sum(float*, int64_t) override {}
  void sum(double*, int64_t) override {}
  void start_sum(float*, int64_t) override {}
  void start_sum(double*, int64_t) override {}
  void progress() override {}
  void wait_sums() override {}
  std::string broadcast(const std::string& s, int) override { return s; }
  std::vector<std::string> gather(const std::string& s) override { return {s}; }
  [[noreturn]] void abort(int code) override { std::_Exit(code); }
};

}  // namespace

std::unique_ptr<Comm> local_comm() { return std::make_unique<LocalComm>(); }

void Comm::agree(const std::string& failure) {
  // Which ranks failed (a flag each, summed), then the lowest one's message from it.
  std::vector<double> flags(static_cast<size_t>(size()), 0.0);
  flags[static_cast<size_t>(rank())] = failure.empty() ? 0.0 : 1.0;
  sum(flags.data(), static_cast<int64_t>(flags.size()));
  int first = size();
  for (int r = 0; r < size(); ++r)
    if (flags[static_cast<size_t>(r)] != 0) {
      first = r;
      break;
    }
  if (first >= size()) return;
  const int root = first;
  const std::string why = broadcast(failure, root);
  if (size() == 1) throw AllRanksError(why);
  throw AllRanksError("rank " + std::to_string(root) + " of " + std::to_string(size()) + " failed: " + why);
}

std::string Comm::host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

}  // namespace kiln
