#pragma once
// kiln's one thread pool, used by every CPU kernel (and nothing else spawns compute threads:
// the BLAS is single-threaded, see blas.h).
//
// Why not OpenMP: on a machine with as many compute threads as cores, libgomp's idle threads
// spin for ~300k iterations between parallel regions, and the data loader's thread (or any
// other) then fights them for a core; a region's end barrier waits for whichever thread was
// descheduled, and training ran 2-20x slower than its kernels. Here idle threads spin only
// briefly (a few tens of microseconds, which covers the gaps between a step's regions) and
// then sleep on a futex.
#include <cstdint>

namespace kiln::cpu {

// Sets the number of threads kernels use (0: all cores); the calling thread is one of them.
void set_thread_count(int n);
int thread_count();
// True inside a parallel region: kernels called from there run on the calling thread alone.
bool in_parallel();

// Runs fn(ctx, index, count) on `count` threads (index 0 on the caller) and returns when all
// have finished; an exception from any of them is rethrown here. Serial (count = 1) inside a
// parallel region or while another thread is using the pool.
void run_parallel(int count, void (*fn)(void*, int, int), void* ctx);

// f(index, count) on up to thread_count() threads.
template <class F>
void parallel_run(F&& f, int count = 0) {
  if (count <= 0) count = thread_count();
  run_parallel(count, [](void* c, int i, int n) { (*static_cast<F*>(c))(i, n); }, &f);
}

// f(begin, end) over [0, n) in one contiguous range per thread, or f(0, n) on the caller
// when `parallel` is false (small work: waking threads would cost more than it saves).
template <class F>
void parallel_for(int64_t n, bool parallel, F&& f) {
  const int count = parallel && n > 1 ? static_cast<int>(n < thread_count() ? n : thread_count()) : 1;
  if (count == 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  parallel_run(
      [&](int i, int c) {
        const int64_t begin = n * i / c, end = n * (i + 1) / c;
        if (begin < end) f(begin, end);
      },
      count);
}

}  // namespace kiln::cpu
