// The design is in pool_fast.h. Compiled with AVX-512 enabled (CMakeLists.txt).
#include "backend/cpu/pool_fast.h"

#include "backend/cpu/threads.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace kiln::cpu::fast {

namespace {

constexpr int64_t kParallelMin = 1 << 15;

__mmask16 first(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); }

// Lanes where v beats best: strictly greater, or v is the first NaN (as the reference's beats()).
__mmask16 beats(__m512 v, __m512 best) {
  const __mmask16 gt = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
  const __mmask16 v_nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), best_nan = _mm512_cmp_ps_mask(best, best, _CMP_UNORD_Q);
  return gt | (v_nan & static_cast<__mmask16>(~best_nan));
}

}  // namespace

bool maxpool2x2_supported(const PoolDims& d) {
  static const bool cpu_ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512vl");
  return cpu_ok && d.k == 2 && d.stride == 2;
}

void maxpool2x2_forward(const float* x, float* y, uint8_t* argmax, const PoolDims& d) {
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const int64_t HW = d.H * d.W, PQ = d.P * d.Q;
  parallel_for(d.planes(), d.planes() * HW > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl)
      for (int64_t p = 0; p < d.P; ++p) {
        const float* r0 = x + pl * HW + 2 * p * d.W;
        const float* r1 = r0 + d.W;
        float* yo = y + pl * PQ + p * d.Q;
        uint8_t* ao = argmax + pl * PQ + p * d.Q;
        for (int64_t q0 = 0; q0 < d.Q; q0 += 16) {
          const int64_t n = std::min<int64_t>(16, d.Q - q0);
          // The 2n input columns of these outputs, as two vectors of 16.
          const __mmask16 lo_m = first(2 * n), hi_m = first(2 * n - 16);
          const float* a = r0 + 2 * q0;
          const float* b = r1 + 2 * q0;
          const __m512 a_lo = _mm512_maskz_loadu_ps(lo_m, a), a_hi = _mm512_maskz_loadu_ps(hi_m, a + 16);
          const __m512 b_lo = _mm512_maskz_loadu_ps(lo_m, b), b_hi = _mm512_maskz_loadu_ps(hi_m, b + 16);
          // Window elements in the reference's order: (0,0), (0,1), (1,0), (1,1).
          const __m512 c[4] = {_mm512_permutex2var_ps(a_lo, even, a_hi), _mm512_permutex2var_ps(a_lo, odd, a_hi),
                               _mm512_permutex2var_ps(b_lo, even, b_hi), _mm512_permutex2var_ps(b_lo, odd, b_hi)};
          __m512 best = c[0];
          __m512i at = _mm512_setzero_si512();
          for (int i = 1; i < 4; ++i) {
            const __mmask16 m = beats(c[i], best);
            best = _mm512_mask_mov_ps(best, m, c[i]);
            at = _mm512_mask_mov_epi32(at, m, _mm512_set1_epi32(i));
          }
          const __mmask16 out_m = first(n);
          _mm512_mask_storeu_ps(yo + q0, out_m, best);
          _mm_mask_storeu_epi8(ao + q0, out_m, _mm512_cvtepi32_epi8(at));
        }
      }
  });
}

void maxpool2x2_backward(const float* dy, const uint8_t* argmax, float* dx, const PoolDims& d) {
  // Interleaving even and odd columns back: lanes 0..15 of (even, odd) -> columns 0..31.
  const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
  const int64_t HW = d.H * d.W, PQ = d.P * d.Q;
  const __m512 zero = _mm512_setzero_ps();
  parallel_for(d.planes(), d.planes() * HW > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      float* plane = dx + pl * HW;
      for (int64_t p = 0; p < d.P; ++p) {
        const float* g = dy + pl * PQ + p * d.Q;
        const uint8_t* at = argmax + pl * PQ + p * d.Q;
        for (int64_t q0 = 0; q0 < d.Q; q0 += 16) {
          const int64_t n = std::min<int64_t>(16, d.Q - q0);
          const __mmask16 in_m = first(n), lo_m = first(2 * n), hi_m = first(2 * n - 16);
          const __m512 gv = _mm512_maskz_loadu_ps(in_m, g + q0);
          const __m512i av = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(in_m, at + q0));
          for (int i = 0; i < 2; ++i) {
            const __m512 e = _mm512_mask_mov_ps(zero, _mm512_cmpeq_epi32_mask(av, _mm512_set1_epi32(2 * i)), gv);
            const __m512 o = _mm512_mask_mov_ps(zero, _mm512_cmpeq_epi32_mask(av, _mm512_set1_epi32(2 * i + 1)), gv);
            float* row = plane + (2 * p + i) * d.W + 2 * q0;
            _mm512_mask_storeu_ps(row, lo_m, _mm512_permutex2var_ps(e, lo, o));
            _mm512_mask_storeu_ps(row + 16, hi_m, _mm512_permutex2var_ps(e, hi, o));
          }
        }
        // An odd width leaves a last column that no window reads.
        if (d.W > 2 * d.Q)
          for (int i = 0; i < 2; ++i) plane[(2 * p + i) * d.W + d.W - 1] = 0;
      }
      // Likewise an odd height's last row.
      if (d.H > 2 * d.P) std::memset(plane + 2 * d.P * d.W, 0, static_cast<size_t>((d.H - 2 * d.P) * d.W) * sizeof(float));
    }
  });
}

}  // namespace kiln::cpu::fast
