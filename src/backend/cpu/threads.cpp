#include "backend/cpu/threads.h"

#include <immintrin.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::cpu {

namespace {

thread_local bool t_in_parallel = false;

// Spins on `a` until it differs from `old` for about `spin`, then sleeps until it does.
template <class T>
void wait_while_equal(const std::atomic<T>& a, T old, std::chrono::microseconds spin) {
  const auto until = std::chrono::steady_clock::now() + spin;
  for (int i = 0; a.load(std::memory_order_acquire) == old; ++i) {
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) {
      a.wait(old, std::memory_order_acquire);
      return;
    }
    _mm_pause();
  }
}

class Pool {
 public:
  ~Pool() { resize(0); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    if (!workers_.empty()) {
      stop_.store(true);
      generation_.fetch_add(1, std::memory_order_release);
      generation_.notify_all();
      for (auto& w : workers_) w.join();
      workers_.clear();
      stop_.store(false);
    }
    // A worker starts from the generation current at its creation: reading it later could
    // miss a job (or the stop) posted in between.
    const uint32_t start = generation_.load();
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i, start] { work(i, start); });
  }

  void run(int count, void (*fn)(void*, int, int), void* ctx) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    count = std::min(count, size());
    if (count <= 1 || t_in_parallel || !busy.owns_lock()) {
      fn(ctx, 0, 1);
      return;
    }
    fn_ = fn;
    ctx_ = ctx;
    count_ = count;
    error_ = nullptr;
    // Every worker acknowledges every job, needed or not, so none can mistake the next job's
    // settings for this one's.
    pending_.store(size() - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    run_share(0);
    for (int left; (left = pending_.load(std::memory_order_acquire)) != 0;) wait_while_equal(pending_, left, kSpin);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static constexpr std::chrono::microseconds kSpin{50};

  void run_share(int index) {
    t_in_parallel = true;
    try {
      fn_(ctx_, index, count_);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    t_in_parallel = false;
  }

  void work(int index, uint32_t seen) {
    for (;;) {
      wait_while_equal(generation_, seen, kSpin);
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      if (index < count_) run_share(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex busy_, error_mutex_;
  std::atomic<uint32_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  void (*fn_)(void*, int, int) = nullptr;
  void* ctx_ = nullptr;
  int count_ = 1;
  std::exception_ptr error_;
};

int all_cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

Pool& pool() {
  static Pool p;
  static std::once_flag once;
  std::call_once(once, [] { p.resize(all_cores()); });
  return p;
}

}  // namespace

void set_thread_count(int n) {
  const int want = n > 0 ? n : all_cores();
  if (want != pool().size()) pool().resize(want);
}

int thread_count() { return pool().size(); }
bool in_parallel() { return t_in_parallel; }
void run_parallel(int count, void (*fn)(void*, int, int), void* ctx) { pool().run(count, fn, ctx); }

}  // namespace kiln::cpu
