#pragma once
// What the bf16 tests share: the skip where the CPU has no AVX512-BF16, the unit roundoffs of
// the bounds, a scope that turns bf16 on, and random inputs.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "backend/cpu/gemm.h"
#include "backend/cpu/gemm_bf16.h"
#include "tensor/rng.h"

#define KILN_NEED_BF16() \
  if (!::kiln::cpu::bf16_supported()) GTEST_SKIP() << "this CPU has no AVX512-BF16 (vdpbf16ps): nothing to test"

namespace kiln::testing {

constexpr double kU = 0x1p-8;     // unit roundoff of bf16 (8 significant bits)
constexpr double kU32 = 0x1p-24;  // of fp32

// gemm() and the convolutions in bf16 for the scope's lifetime.
struct Bf16On {
  bool before = cpu::set_gemm_bf16(true);
  ~Bf16On() { cpu::set_gemm_bf16(before); }
};

inline std::vector<float> random_vector(int64_t n, Rng& rng, double lo = -1, double hi = 1) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(rng.uniform(lo, hi));
  return v;
}

}  // namespace kiln::testing
