// The MPI communicator (Open MPI from Debian: libopenmpi-dev). MPI starts only when the process
// was started by mpirun (its environment says so), so a plain `kiln train` never pays for it.
// Only the main thread calls MPI (MPI_THREAD_FUNNELED); kiln's pool threads never do.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <utility>

#include "dist/comm.h"

namespace kiln {

namespace {

using Clock = std::chrono::steady_clock;

bool started_by_mpirun() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(var)) return true;
  return false;
}

double timeout_seconds() {
  const char* v = std::getenv("KILN_COMM_TIMEOUT");
  if (!v) return 120;
  char* end = nullptr;
  const double t = std::strtod(v, &end);
  if (end == v || *end || !(t > 0))
    throw Error(std::string("KILN_COMM_TIMEOUT=") + v + ": expected a positive number of seconds");
  return t;
}

void finalize() {
  int done = 0;
  MPI_Finalized(&done);
  if (!done) MPI_Finalize();
}

template <class T> MPI_Datatype type_of();
template <> MPI_Datatype type_of<float>() { return MPI_FLOAT; }
template <> MPI_Datatype type_of<double>() { return MPI_DOUBLE; }

class MpiComm final : public Comm {
 public:
  MpiComm() : timeout_(timeout_seconds()) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw Error("MPI_Init_thread failed: is this process started by mpirun of the MPI kiln was built with?");
    std::atexit(finalize);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    host_ = host_name();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  const char* kind() const override { return "mpi"; }

  void sum(float* x, int64_t n) override { blocking(x, n); }
  void sum(double* x, int64_t n) override { blocking(x, n); }
  void start_sum(float* x, int64_t n) override { start(x, n); }
  void start_sum(double* x, int64_t n) override { start(x, n); }
  void progress() override {
    if (pending_.empty()) return;
    int done = 0;
    check(MPI_Testall(static_cast<int>(pending_.size()), pending_.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    if (done) pending_.clear();
  }
  void wait_sums() override { wait("the gradient sum"); }
  double set_timeout(double seconds) override { return std::exchange(timeout_, seconds); }

  std::string broadcast(const std::string& s, int root) override {
    int64_t len = static_cast<int64_t>(s.size());
    MPI_Request req;
    check(MPI_Ibcast(&len, 1, MPI_INT64_T, root, MPI_COMM_WORLD, &req), "MPI_Ibcast");
    pending_.push_back(req);
    wait("a broadcast from rank " + std::to_string(root));
    std::string out = rank_ == root ? s : std::string(static_cast<size_t>(len), '\0');
    if (len > 0) {
      check(MPI_Ibcast(out.data(), static_cast<int>(len), MPI_CHAR, root, MPI_COMM_WORLD, &req), "MPI_Ibcast");
      pending_.push_back(req);
      wait("a broadcast from rank " + std::to_string(root));
    }
    return out;
  }

  std::vector<std::string> gather(const std::string& s) override {
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r) out.push_back(broadcast(s, r));
    return out;
  }

  [[noreturn]] void abort(int code) override {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  template <class T> void start(T* x, int64_t n) {
    // MPI counts are int: a buffer of more than 2^30 numbers goes in pieces.
    constexpr int64_t kPiece = int64_t{1} << 30;
    for (int64_t at = 0; at < n; at += kPiece) {
      MPI_Request req;
      check(MPI_Iallreduce(MPI_IN_PLACE, x + at, static_cast<int>(std::min(kPiece, n - at)), type_of<T>(), MPI_SUM,
                           MPI_COMM_WORLD, &req),
            "MPI_Iallreduce");
      pending_.push_back(req);
    }
  }
  template <class T> void blocking(T* x, int64_t n) {
    start(x, n);
    wait("a sum over ranks");
  }
  // Polls the pending requests until done or past the deadline: spinning for the first
  // millisecond (a sum between ranks on one machine takes microseconds), then sleeping
  // between polls so that an oversubscribed machine runs the ranks that have work.
  void wait(const std::string& what) {
    const auto t0 = Clock::now();
    for (int64_t polls = 0;; ++polls) {
      progress();
      if (pending_.empty()) return;
      const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
      if (timeout_ > 0 && waited > timeout_) {
        std::fprintf(stderr,
                     "kiln: rank %d of %d (%s): no answer from the other ranks within %.0f s in %s: a rank died or "
                     "hangs. Ending the job; the run folder keeps its last checkpoint (resume it with 'kiln train "
                     "--resume RUN'). KILN_COMM_TIMEOUT sets the limit.\n",
                     rank_, size_, host_.c_str(), timeout_, what.c_str());
        abort(1);
      }
      if (waited > 1e-3) std::this_thread::sleep_for(std::chrono::microseconds(polls < 10000 ? 20 : 200));
    }
  }
  void check(int rc, const char* call) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING] = {};
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    std::fprintf(stderr, "kiln: rank %d of %d (%s): %s failed: %s. Ending the job.\n", rank_, size_, host_.c_str(), call,
                 msg);
    abort(1);
  }

  int rank_ = 0, size_ = 1, local_size_ = 1;
  double timeout_;
  std::string host_;
  std::vector<MPI_Request> pending_;
};

}  // namespace

bool mpi_built() { return true; }

namespace {
Comm* g_started = nullptr;
}

Comm& world() {
  static std::unique_ptr<Comm> comm = started_by_mpirun() ? std::unique_ptr<Comm>(new MpiComm) : local_comm();
  if (comm->size() > 1) g_started = comm.get();
  return *comm;
}

Comm* world_if_started() { return g_started; }

}  // namespace kiln
