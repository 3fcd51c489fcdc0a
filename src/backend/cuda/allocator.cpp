#include "backend/cuda/allocator.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>

#include "backend/cuda/check.h"

namespace kiln::cuda {

std::string format_bytes(int64_t bytes) {
  char b[32];
  const double v = static_cast<double>(bytes);
  if (v >= 1024.0 * 1024 * 1024) std::snprintf(b, sizeof b, "%.2f GiB", v / (1024.0 * 1024 * 1024));
  else if (v >= 1024.0 * 1024) std::snprintf(b, sizeof b, "%.1f MiB", v / (1024.0 * 1024));
  else if (v >= 1024.0) std::snprintf(b, sizeof b, "%.1f KiB", v / 1024.0);
  else std::snprintf(b, sizeof b, "%lld B", static_cast<long long>(bytes));
  return b;
}

size_t CachingAllocator::size_class(size_t bytes) {
  constexpr size_t kGranule = 512;
  size_t n = std::max<size_t>(bytes, 1);
  n = (n + kGranule - 1) / kGranule * kGranule;
  if (n <= 4096) return n;
  // Four classes per power of two: round up to a multiple of 2^(floor(log2 n) - 2).
  int top = 63;
  while (!(n >> top & 1)) --top;
  const size_t step = size_t{1} << (top - 2);
  return (n + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t size = size_class(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  if (capturing_)
    throw Error("CUDA graph capture: the captured step asked for " + format_bytes(static_cast<int64_t>(bytes)) +
                " of new device memory (every buffer must exist before capture; run one step eagerly first)");
  ++generation_;
  void* p = nullptr;
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    ++stats_.cache_hits;
  } else {
    cudaError_t e = cudaMalloc(&p, size);
    if (e == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear it, then retry with the cache emptied
      free_cached_locked();
      e = cudaMalloc(&p, size);
    }
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      size_t free_bytes = 0, total = 0;
      (void)cudaMemGetInfo(&free_bytes, &total);
      throw Error("out of GPU memory: cudaMalloc of " + format_bytes(static_cast<int64_t>(size)) + " failed (" +
                  cudaGetErrorString(e) + "); kiln holds " + format_bytes(stats_.in_use) + " in tensors, the device has " +
                  format_bytes(static_cast<int64_t>(free_bytes)) + " free of " + format_bytes(static_cast<int64_t>(total)) +
                  ". Try a smaller train.batch_size");
    }
    ++stats_.device_mallocs;
    stats_.reserved += static_cast<int64_t>(size);
    stats_.peak_reserved = std::max(stats_.peak_reserved, stats_.reserved);
  }
  live_.emplace(p, size);
  stats_.in_use += static_cast<int64_t>(size);
  stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
  return p;
}

void CachingAllocator::release(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  KILN_CHECK(it != live_.end(), "CUDA allocator: release of a pointer it did not hand out");
  const size_t size = it->second;
  live_.erase(it);
  free_[size].push_back(p);
  stats_.in_use -= static_cast<int64_t>(size);
  ++generation_;
}

void CachingAllocator::free_cached_locked() {
  // cudaFree waits for the device anyway; kernels still queued on the backend's stream may use
  // blocks that were released to the cache, so wait for everything first.
  (void)cudaDeviceSynchronize();
  for (auto& [size, blocks] : free_) {
    for (void* p : blocks) {
      (void)cudaFree(p);
      stats_.reserved -= static_cast<int64_t>(size);
    }
    blocks.clear();
  }
  ++generation_;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  KILN_CHECK(!capturing_, "CUDA allocator: empty_cache during graph capture");
  free_cached_locked();
}

void CachingAllocator::set_capturing(bool capturing) {
  std::lock_guard<std::mutex> lock(mu_);
  capturing_ = capturing;
}

uint64_t CachingAllocator::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

MemoryStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_in_use = stats_.in_use;
  stats_.peak_reserved = stats_.reserved;
}

}  // namespace kiln::cuda
