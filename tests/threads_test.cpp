// kiln's thread pool, and the kernels that are not covered by a layer's tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <vector>

#include "backend/cpu/lookup.h"
#include "backend/cpu/threads.h"
#include "tensor/rng.h"

using namespace kiln;

TEST(ThreadPool, ParallelForCoversEveryIndexOnce) {
  for (int64_t n : {0, 1, 2, 3, 17, 1000}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    cpu::parallel_for(n, true, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
    });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)], 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPool, NestedRegionsRunOnTheCallingThread) {
  // A pool of two or more whatever an earlier test (a run with train.threads = 1) left: with
  // one thread a region runs inline and is not parallel.
  const int before = cpu::thread_count();
  cpu::set_thread_count(std::max(2, before));
  std::atomic<int> inner_counts{0};
  cpu::parallel_run([&](int, int) {
    EXPECT_TRUE(cpu::in_parallel());
    cpu::parallel_run([&](int i, int n) {
      EXPECT_EQ(i, 0);
      EXPECT_EQ(n, 1);
      inner_counts++;
    });
  });
  EXPECT_FALSE(cpu::in_parallel());
  EXPECT_EQ(inner_counts, cpu::thread_count());
  cpu::set_thread_count(before);
}

TEST(ThreadPool, AnExceptionOnAnyThreadReachesTheCaller) {
  EXPECT_THROW(cpu::parallel_run([](int i, int n) {
                 if (i == n - 1) throw std::runtime_error("from the last thread");
               }),
               std::runtime_error);
  // The pool still works afterwards.
  std::atomic<int> ran{0};
  cpu::parallel_run([&](int, int) { ran++; });
  EXPECT_EQ(ran, cpu::thread_count());
}

TEST(ThreadPool, ResizesAndCountsThreads) {
  const int before = cpu::thread_count();
  cpu::set_thread_count(3);
  EXPECT_EQ(cpu::thread_count(), 3);
  std::vector<int> seen(3, 0);
  cpu::parallel_run([&](int i, int n) {
    EXPECT_EQ(n, 3);
    seen[static_cast<size_t>(i)] = 1;
  });
  EXPECT_EQ(seen, std::vector<int>({1, 1, 1}));
  cpu::set_thread_count(before);
  EXPECT_EQ(cpu::thread_count(), before);
}

TEST(Lookup, FastMatchesNaive) {
  Rng rng(4);
  std::vector<Real> table(256);
  for (auto& t : table) t = static_cast<Real>(rng.uniform(-3, 3));
  for (int64_t n : {0, 1, 15, 16, 17, 100, 4099}) {
    std::vector<uint8_t> in(static_cast<size_t>(n));
    for (auto& b : in) b = static_cast<uint8_t>(rng.below(256));
    std::vector<Real> fast(static_cast<size_t>(n)), ref(static_cast<size_t>(n));
    cpu::lookup_bytes(in.data(), table.data(), fast.data(), n);
    cpu::lookup_bytes_naive(in.data(), table.data(), ref.data(), n);
    EXPECT_EQ(fast, ref) << "n=" << n;
  }
}
