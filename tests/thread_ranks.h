#pragma once
// N ranks as N threads of one process, for tests of what ranks compute together (sharded
// evaluation, synchronised batch norm) without mpirun. Every collective is blocking; sums are
// taken in rank order, so every rank gets the same bits. Run with set_threads(1): the kernels'
// pool is not meant to be entered from several threads at once.
#include <algorithm>
#include <barrier>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dist/comm.h"

namespace kiln::testing {

class ThreadRanks {
 public:
  explicit ThreadRanks(int n) : n_(n), barrier_(n), slots_(static_cast<size_t>(n)), strings_(static_cast<size_t>(n)) {}

  // f(comm) on n threads, comm being rank r's; rethrows a failure of any.
  void run(const std::function<void(Comm&)>& f) {
    std::vector<std::thread> threads;
    std::exception_ptr failed;
    std::mutex mu;
    for (int r = 0; r < n_; ++r)
      threads.emplace_back([&, r] {
        Rank comm(*this, r);
        try {
          f(comm);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu);
          if (!failed) failed = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    if (failed) std::rethrow_exception(failed);
  }

 private:
  struct Rank final : Comm {
    Rank(ThreadRanks& g, int r) : g_(g), r_(r) {}
    int rank() const override { return r_; }
    int size() const override { return g_.n_; }
    const char* kind() const override { return "threads"; }
    void sum(float* x, int64_t n) override { g_.sum(r_, x, n); }
    void sum(double* x, int64_t n) override { g_.sum(r_, x, n); }
    void start_sum(float* x, int64_t n) override { g_.sum(r_, x, n); }
    void start_sum(double* x, int64_t n) override { g_.sum(r_, x, n); }
    void progress() override {}
    void wait_sums() override {}
    std::string broadcast(const std::string& s, int root) override {
      g_.strings_[static_cast<size_t>(r_)] = s;
      g_.barrier_.arrive_and_wait();
      std::string out = g_.strings_[static_cast<size_t>(root)];
      g_.barrier_.arrive_and_wait();
      return out;
    }
    std::vector<std::string> gather(const std::string& s) override {
      std::vector<std::string> out;
      for (int r = 0; r < g_.n_; ++r) out.push_back(broadcast(s, r));
      return out;
    }
    [[noreturn]] void abort(int code) override { std::_Exit(code); }
    ThreadRanks& g_;
    int r_;
  };

  template <class T> void sum(int r, T* x, int64_t n) {
    slots_[static_cast<size_t>(r)] = x;
    barrier_.arrive_and_wait();
    std::vector<T> total(static_cast<size_t>(n), T(0));
    for (const void* p : slots_)
      for (int64_t i = 0; i < n; ++i) total[static_cast<size_t>(i)] += static_cast<const T*>(p)[i];
    barrier_.arrive_and_wait();  // every rank has read every buffer before any is overwritten
    std::copy(total.begin(), total.end(), x);
  }

  int n_;
  std::barrier<> barrier_;
  std::vector<const void*> slots_;
  std::vector<std::string> strings_;
};

}  // namespace kiln::testing
