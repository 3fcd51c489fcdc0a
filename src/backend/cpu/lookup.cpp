// The AVX-512 path gathers 16 table entries per instruction from the (L1-resident) table; it is
// compiled for AVX-512 whatever the build's target and entered after a run-time check.
#include "backend/cpu/lookup.h"

#include <immintrin.h>

// GCC 12 flags its own intrinsics' deliberately undefined registers as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace kiln::cpu {

void lookup_bytes_naive(const uint8_t* in, const Real* table, Real* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = table[in[i]];
}

__attribute__((target("avx512f"))) static void lookup_avx512(const uint8_t* in, const float* table, float* out,
                                                              int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
    _mm512_storeu_ps(out + i, _mm512_i32gather_ps(idx, table, 4));
  }
  for (; i < n; ++i) out[i] = table[in[i]];
}

void lookup_bytes(const uint8_t* in, const Real* table, Real* out, int64_t n) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if constexpr (sizeof(Real) == sizeof(float)) {
    if (avx512)
      return lookup_avx512(in, reinterpret_cast<const float*>(table), reinterpret_cast<float*>(out), n);
  }
  lookup_bytes_naive(in, table, out, n);
}

}  // namespace kiln::cpu
