#pragma once
// The counter-based generator behind every per-element random draw (dropout masks, data
// augmentation): splitmix64 of seed, stream and counter, then the exact conversion of 53 bits
// to a double in [0, 1). One definition for host and device (compiled by nvcc as
// __host__ __device__), so a dropout mask drawn on the GPU is bit for bit the CPU's; inline so
// that loops drawing one number per element vectorise. Plain C++17.
#include <cstdint>

#include "tensor/hd.h"

namespace kiln {

KILN_HD uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from (seed, stream, counter).
KILN_HD double hash_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
  const uint64_t h = splitmix64(seed ^ splitmix64(stream ^ splitmix64(counter)));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

}  // namespace kiln
