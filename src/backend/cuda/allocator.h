#pragma once
// The CUDA backend's caching device allocator.
//
// cudaMalloc and cudaFree are slow (cudaFree synchronises the whole device), and a training
// step frees and allocates the same sizes over and over. So released blocks are not freed but
// kept on a free list of their size class, and the next request of that class takes one back.
//
//  - Size classes: requests are rounded up to a multiple of 512 bytes, and above 4 KiB to one
//    of four classes per power of two (2^k, 1.25·2^k, 1.5·2^k, 1.75·2^k), so a block is at most
//    25% larger than asked and similar sizes share a list. Each block is a whole cudaMalloc
//    allocation (no splitting): 256-byte aligned, as the backend promises 64.
//  - Stream order: every kernel and copy of the backend runs on its one stream, so a block
//    released by the host while kernels that use it are still queued can be handed out again
//    at once: the new owner's kernels are queued after them.
//  - Out of memory: the cache is emptied (cudaFree after a synchronise) and the cudaMalloc
//    tried once more before kiln::Error reports the sizes.
//  - Graph capture: while a graph is being captured, allocating throws kiln::Error (a graph
//    bakes in its pointers; the step that is captured must find every buffer in place), and
//    generation() counts every allocation and release, so that a recorded graph is replayed
//    only while no buffer has changed since.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace kiln::cuda {

struct MemoryStats {
  int64_t in_use = 0;         // bytes in blocks handed out (size classes, so ≥ the bytes asked)
  int64_t peak_in_use = 0;    // the most in_use has been (since the start or reset_peak)
  int64_t reserved = 0;       // bytes held from cudaMalloc: in use + cached
  int64_t peak_reserved = 0;
  int64_t device_mallocs = 0;  // cudaMalloc calls
  int64_t cache_hits = 0;      // requests served from a free list
};

class CachingAllocator {
 public:
  void* allocate(size_t bytes);
  void release(void* p);
  // Frees every cached (unused) block back to the device.
  void empty_cache();
  void set_capturing(bool capturing);
  uint64_t generation() const;
  MemoryStats stats() const;
  void reset_peak();
  static size_t size_class(size_t bytes);

 private:
  void free_cached_locked();
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // size class -> cached blocks
  std::unordered_map<void*, size_t> live_;               // block handed out -> its size class
  MemoryStats stats_;
  uint64_t generation_ = 0;
  bool capturing_ = false;
};

std::string format_bytes(int64_t bytes);  // "1.5 GiB"

}  // namespace kiln::cuda
