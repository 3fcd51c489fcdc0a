#pragma once
// AVX-512 helpers shared by the kernels written with intrinsics (conv_direct.cpp,
// conv_winograd.cpp); include only from files compiled with AVX-512 enabled (CMakeLists.txt).
#include <immintrin.h>

#include <cstdint>

namespace kiln::cpu {

constexpr int64_t kLanes = 16;  // floats per register

// The first min(n, 16) lanes.
inline __mmask16 tail_mask(int64_t n) { return n >= kLanes ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1); }

// r[i] = row i of a 16×16 block -> r[j] = column j: pairs interleaved within 128-bit lanes,
// then 4×4 blocks of lanes exchanged (after step 2, s[4i + j] holds, in lane L, rows 4i..4i+3
// of column 4L + j).
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int j = 0; j < 4; ++j) {
    const __m512 u0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), u1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
    const __m512 v0 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88), v1 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
    t[j] = _mm512_shuffle_f32x4(u0, v0, 0x88);
    t[8 + j] = _mm512_shuffle_f32x4(u0, v0, 0xDD);
    t[4 + j] = _mm512_shuffle_f32x4(u1, v1, 0x88);
    t[12 + j] = _mm512_shuffle_f32x4(u1, v1, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

}  // namespace kiln::cpu
