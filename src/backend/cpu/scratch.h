#pragma once
// Per-thread scratch memory for kernels: buffer `slot` (< kSlots) of the calling thread, at
// least n floats, 64-byte aligned, zero-filled when it grows and kept between calls, so that a
// steady-state training step allocates nothing. Each Owner type (a tag naming the kernel file)
// has buffers of its own, so kernels that call each other never share one.
#include <cstdint>
#include <vector>

namespace kiln::cpu {

template <class Owner, int kSlots>
float* thread_scratch(int slot, int64_t n) {
  static thread_local std::vector<float> buffers[kSlots];
  std::vector<float>& b = buffers[slot];
  // 32 floats of slack: 16 for the alignment below, 16 for a kernel's masked over-read.
  if (static_cast<int64_t>(b.size()) < n + 32) b.assign(static_cast<size_t>(n + 32), 0.f);
  const auto p = reinterpret_cast<uintptr_t>(b.data());
  return reinterpret_cast<float*>((p + 63) / 64 * 64);
}

}  // namespace kiln::cpu
