// The bf16 products of the Winograd convolution; the design and the error are in winograd_bf16.h.
#include "backend/cpu/winograd_bf16.h"

#include <immintrin.h>

#include <algorithm>

#include "backend/cpu/avx512.h"

namespace kiln::cpu::winograd {

namespace {

__m512i as_int(__m512bh v) { return reinterpret_cast<__m512i>(v); }
__m512bh as_pairs(__m512i v) { return reinterpret_cast<__m512bh>(v); }

// c[i, 0:16·KV] (+)= Σ_r a-pair(i, r) · b[r·ldb + 0:16·KV] for i < TB: one register tile, each
// loaded row of b used by TB broadcasts of a (the shape of conv_winograd.cpp's fp32 gemm_tile).
template <int TB, int KV>
void tile(const uint32_t* a, int64_t as, int64_t rs, int64_t R, const uint32_t* b, int64_t ldb, float* c, int64_t ldc,
          bool accumulate) {
  __m512 acc[TB][KV];
  _Pragma("GCC unroll 8") for (int i = 0; i < TB; ++i)
    _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v)
      acc[i][v] = accumulate ? _mm512_loadu_ps(c + i * ldc + v * kLanes) : _mm512_setzero_ps();
  for (int64_t r = 0; r < R; ++r) {
    __m512i bv[KV];
    _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v) bv[v] = _mm512_loadu_si512(b + r * ldb + v * kLanes);
    _Pragma("GCC unroll 8") for (int i = 0; i < TB; ++i) {
      const __m512bh av = as_pairs(_mm512_set1_epi32(static_cast<int>(a[i * as + r * rs])));
      _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], av, as_pairs(bv[v]));
    }
  }
  _Pragma("GCC unroll 8") for (int i = 0; i < TB; ++i)
    _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v) _mm512_storeu_ps(c + i * ldc + v * kLanes, acc[i][v]);
}

template <int KV>
void rows_of(int64_t tb, const uint32_t* a, int64_t as, int64_t rs, int64_t R, const uint32_t* b, int64_t ldb, float* c,
             int64_t ldc, bool accumulate) {
  switch (tb) {
    case 6: return tile<6, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
    case 5: return tile<5, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
    case 4: return tile<4, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
    case 3: return tile<3, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
    case 2: return tile<2, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
    default: return tile<1, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
  }
}

}  // namespace

void pack_pairs_in_rows(const float* X, int64_t ld, int64_t rows, int64_t cols, uint32_t* out) {
  const int64_t half = cols / 2;
  for (int64_t i = 0; i < rows; ++i) {
    const float* x = X + i * ld;
    uint32_t* o = out + i * half;
    int64_t j = 0;
    // 32 columns round into 16 pairs: vcvtne2ps2bf16 puts its second operand in the low half.
    for (; j + 32 <= cols; j += 32)
      _mm512_storeu_si512(o + j / 2, as_int(_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + j + 16), _mm512_loadu_ps(x + j))));
    if (j < cols)  // 16 columns left (cols is a multiple of 16): 8 pairs
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + j / 2),
                          reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(x + j))));
  }
}

void pack_pairs_across_rows(const float* X, int64_t ld, int64_t rows, int64_t cols, uint32_t* out) {
  // Row 2i rounded into the low 16 bf16 of a register, row 2i + 1 into the high 16, then
  // interleaved into 16 pairs.
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                              6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t i = 0; 2 * i < rows; ++i) {
    const float* r0 = X + 2 * i * ld;
    const bool odd_tail = 2 * i + 1 == rows;
    for (int64_t j = 0; j < cols; j += kLanes) {
      const __m512 lo = _mm512_loadu_ps(r0 + j), hi = odd_tail ? zero : _mm512_loadu_ps(r0 + ld + j);
      _mm512_storeu_si512(out + i * cols + j, _mm512_permutexvar_epi16(interleave, as_int(_mm512_cvtne2ps_pbh(hi, lo))));
    }
  }
}

void gemm_pairs(const uint32_t* a, int64_t as, int64_t rs, int64_t rows, int64_t R, const uint32_t* b, int64_t ldb,
                int64_t cols, float* c, int64_t ldc, bool accumulate) {
  for (int64_t k0 = 0; k0 < cols;) {
    const int64_t left = (cols - k0) / kLanes, kv = left >= 4 ? 4 : left >= 2 ? 2 : 1;
    for (int64_t i0 = 0; i0 < rows; i0 += 6) {
      const int64_t tb = std::min<int64_t>(6, rows - i0);
      const uint32_t* ai = a + i0 * as;
      float* ci = c + i0 * ldc + k0;
      if (kv == 4) rows_of<4>(tb, ai, as, rs, R, b + k0, ldb, ci, ldc, accumulate);
      else if (kv == 2) rows_of<2>(tb, ai, as, rs, R, b + k0, ldb, ci, ldc, accumulate);
      else rows_of<1>(tb, ai, as, rs, R, b + k0, ldb, ci, ldc, accumulate);
    }
    k0 += kv * kLanes;
  }
}

}  // namespace kiln::cpu::winograd
