#pragma once
// The CUDA backend's own memory beyond tensors: scratch buffers that only grow (so that a
// steady-state step allocates nothing and a captured graph finds its buffers again), and the
// pinned staging through which host data is uploaded asynchronously.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "backend/cuda/allocator.h"
#include "backend/cuda/check.h"

namespace kiln::cuda {

// A device buffer owned by the backend that only grows (released to the allocator when it does).
template <class T>
class Scratch {
 public:
  T* get(CachingAllocator& a, int64_t n) {
    if (n > capacity_) {
      // Grow by half again, so that a slowly rising size does not reallocate every call.
      const int64_t want = std::max<int64_t>(n, capacity_ + capacity_ / 2);
      void* p = a.allocate(static_cast<size_t>(want) * sizeof(T));
      a.release(ptr_);
      ptr_ = static_cast<T*>(p);
      capacity_ = want;
    }
    return ptr_;
  }

 private:
  T* ptr_ = nullptr;
  int64_t capacity_ = 0;
};

// Pinned host memory that pageable host data is copied through, so that uploads are
// asynchronous: two slots used in turn, each reused only after its last copy has finished.
class Staging {
 public:
  static constexpr size_t kMaxBytes = size_t{64} << 20;  // larger copies go directly
  ~Staging() = default;  // the backend is never destroyed (see cuda_backend())
  // Copies `bytes` from host `src` to device `dst` on `stream` through a pinned slot.
  void upload(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
    Slot& s = slots_[next_];
    next_ ^= 1;
    if (s.event) KILN_CUDA(cudaEventSynchronize(s.event));
    else KILN_CUDA(cudaEventCreateWithFlags(&s.event, cudaEventDisableTiming));
    if (s.bytes < bytes) {
      if (s.host) KILN_CUDA(cudaFreeHost(s.host));
      s.host = nullptr;
      s.bytes = 0;
      const size_t want = std::max<size_t>(bytes, size_t{1} << 20);
      KILN_CUDA(cudaMallocHost(&s.host, want));
      s.bytes = want;
    }
    std::memcpy(s.host, src, bytes);
    KILN_CUDA(cudaMemcpyAsync(dst, s.host, bytes, cudaMemcpyHostToDevice, stream));
    KILN_CUDA(cudaEventRecord(s.event, stream));
  }

 private:
  struct Slot {
    void* host = nullptr;
    size_t bytes = 0;
    cudaEvent_t event = nullptr;
  };
  Slot slots_[2];
  int next_ = 0;
};

}  // namespace kiln::cuda
