#pragma once
// Device-side helpers shared by the .cu files: launch shapes, grid-stride loops with 64-bit
// indices, warp and block reductions. CUDA only.
#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/check.h"

namespace kiln::cuda {

constexpr int kThreads = 256;       // threads per block of the elementwise kernels
constexpr int64_t kMaxBlocks = 8192;  // grid-stride loops cover the rest (enough to fill any GPU)

// Blocks for n elements at `threads` per block (at least 1; callers skip n == 0).
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > kMaxBlocks) b = kMaxBlocks;
  return static_cast<unsigned>(b);
}

// First index and stride of the calling thread in a grid-stride loop, in 64 bits: element
// counts may exceed 2^31.
__device__ __forceinline__ int64_t grid_start() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;  // lane 0 holds the sum
}

template <class T>
__device__ __forceinline__ T warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) {
    const T w = __shfl_xor_sync(0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  return v;  // every lane holds the max
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); thread 0 gets the result.
// The order of additions is fixed by the launch shape, so results are deterministic.
// `shared` holds 32 values. Ends with a barrier, so it may be called again.
template <class T>
__device__ T block_sum(T v, T* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  T total = 0;
  if (warp == 0) {
    total = lane < warps ? shared[lane] : T(0);
    total = warp_sum(total);
  }
  __syncthreads();
  return total;
}

}  // namespace kiln::cuda

// Launches kernel<<<grid, block, 0, stream>>>(args...) and checks it, naming the kernel.
#define KILN_LAUNCH(kernel, grid, block, stream, ...)       \
  do {                                                    \
    kernel<<<(grid), (block), 0, (stream)>>>(__VA_ARGS__); \
    KILN_LAUNCHED(#kernel, (stream));                     \
  } while (0)
