// The bf16 GEMM; the design and the error bound are in gemm_bf16.h. Compiled with AVX-512 and
// AVX512-BF16 enabled whatever the build's target (CMakeLists.txt): gemm_bf16_serial is entered
// only after bf16_supported() (gemm.cpp checks it when the precision is set).
#include "backend/cpu/gemm_bf16.h"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "backend/cpu/avx512.h"

namespace kiln::cpu {

bool bf16_supported() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return ok;
}

namespace {

// Blocking. A packed panel is 16 lanes wide (one register of pairs); the micro-kernel computes
// kMr rows x kNv panels of C. kKc k per block: the micro-kernel's B sliver (kKc/2 pairs x 3
// panels x 64 bytes = 24 KiB) stays in L1; the packed A block (kMc x kKc, 64 KiB) and B block
// (kKc x kNc, 384 KiB) in L2.
constexpr int64_t kPanel = 16, kMr = 8, kNv = 3;
constexpr int64_t kKc = 256, kMc = 128, kNc = 768;

// Per-thread packing buffers, 64-byte aligned, kept between calls.
uint32_t* scratch(int slot, int64_t n) {
  static thread_local std::vector<uint32_t> buffers[2];
  std::vector<uint32_t>& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < n + 16) b.assign(static_cast<size_t>(n + 16), 0u);
  const auto p = reinterpret_cast<uintptr_t>(b.data());
  return reinterpret_cast<uint32_t*>((p + 63) / 64 * 64);
}

__m512i as_int(__m512bh v) { return reinterpret_cast<__m512i>(v); }

// Packs the block X(o, k), o in [o0, o0 + width) (width <= 16, zero lanes beyond), k in
// [k0, k0 + kc) (zero past kc) into out[kp * 16 + o - o0] = the pair (X(o, k0 + 2kp),
// X(o, k0 + 2kp + 1)) in bf16, the even k in the low half, for kp < ceil(kc / 2).
// k_contiguous: X(o, k) = X[o * ld + k], else X[k * ld + o].
void pack_panel(const float* X, int64_t ld, bool k_contiguous, int64_t o0, int64_t width, int64_t k0, int64_t kc,
                uint32_t* out) {
  const int64_t pairs = (kc + 1) / 2;
  const __m512 zero = _mm512_setzero_ps();
  if (!k_contiguous) {
    // Two rows of k, 16 values of o each: round both (low half row k, high half row k + 1),
    // then interleave the halves into pairs.
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                                22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __mmask16 m = tail_mask(width);
    for (int64_t kp = 0; kp < pairs; ++kp) {
      const float* row = X + (k0 + 2 * kp) * ld + o0;
      const __m512 r0 = _mm512_maskz_loadu_ps(m, row);
      const __m512 r1 = 2 * kp + 1 < kc ? _mm512_maskz_loadu_ps(m, row + ld) : zero;
      const __m512i both = as_int(_mm512_cvtne2ps_pbh(r1, r0));
      _mm512_store_si512(out + kp * kPanel, _mm512_permutexvar_epi16(interleave, both));
    }
    return;
  }
  // k runs along memory: 32 consecutive k of one o round into 16 pairs (one register); 16
  // such registers (16 values of o) transposed give 16 rows of the panel.
  for (int64_t kb = 0; kb < pairs; kb += kPanel) {
    const int64_t k = 2 * kb, left = kc - k;
    const __mmask16 lo = tail_mask(std::clamp<int64_t>(left, 0, 16)), hi = tail_mask(std::clamp<int64_t>(left - 16, 0, 16));
    __m512 r[16];
    for (int64_t o = 0; o < kPanel; ++o) {
      if (o >= width) {
        r[o] = zero;
        continue;
      }
      const float* src = X + (o0 + o) * ld + k0 + k;
      const __m512 a = _mm512_maskz_loadu_ps(lo, src), b = hi ? _mm512_maskz_loadu_ps(hi, src + 16) : zero;
      r[o] = _mm512_castsi512_ps(as_int(_mm512_cvtne2ps_pbh(b, a)));
    }
    transpose16(r);
    for (int64_t j = 0; j < std::min(kPanel, pairs - kb); ++j) _mm512_store_ps(reinterpret_cast<float*>(out + (kb + j) * kPanel), r[j]);
  }
}

// C[r, c] (r < rows, c < 16 (NV - 1) + last) = alpha Σ_kp a-pair(r) · b-pair(c) + (accumulate ?
// C : beta C). a: packed A at the micro-panel's first row (lane stride 16); b: the first of NV
// packed B panels, panel_stride apart.
template <int NV>
void micro_kernel(const uint32_t* a, const uint32_t* b, int64_t panel_stride, int64_t pairs, float* C, int64_t ldc,
                  int64_t rows, int64_t last, float alpha, float beta, bool accumulate) {
  __m512 acc[kMr][NV];
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 3
    for (int c = 0; c < NV; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t kp = 0; kp < pairs; ++kp) {
    __m512i bv[NV];
#pragma GCC unroll 3
    for (int c = 0; c < NV; ++c) bv[c] = _mm512_load_si512(b + c * panel_stride + kp * kPanel);
    const uint32_t* ak = a + kp * kPanel;
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) {
      const __m512bh av = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(ak[r])));
#pragma GCC unroll 3
      for (int c = 0; c < NV; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], av, reinterpret_cast<__m512bh>(bv[c]));
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < NV; ++c) {
      const __mmask16 m = c == NV - 1 ? tail_mask(last) : __mmask16(0xFFFF);
      float* p = C + r * ldc + c * kPanel;
      __m512 v = _mm512_mul_ps(va, acc[r][c]);
      if (accumulate)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, p));
      else if (beta != 0.f)
        v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, p), v);
      _mm512_mask_storeu_ps(p, m, v);
    }
}

}  // namespace

void gemm_bf16_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // C = beta C, as the BLAS does
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  // op(A)(i, k) is A[i lda + k] (k contiguous) unless transposed; op(B)(k, j) is B[j ldb + k]
  // (k contiguous) when transposed.
  const int64_t panel_k = (std::min(K, kKc) + 1) / 2 * kPanel;  // lanes of one packed panel
  uint32_t* Bp = scratch(0, (kNc / kPanel) * panel_k);
  uint32_t* Ap = scratch(1, (kMc / kPanel) * panel_k);
  for (int64_t jc = 0; jc < N; jc += kNc) {
    const int64_t nc = std::min(kNc, N - jc), npanels = (nc + kPanel - 1) / kPanel;
    for (int64_t pc = 0; pc < K; pc += kKc) {
      const int64_t kc = std::min(kKc, K - pc), pairs = (kc + 1) / 2, stride = pairs * kPanel;
      for (int64_t p = 0; p < npanels; ++p)
        pack_panel(B, ldb, trans_b, jc + p * kPanel, std::min(kPanel, nc - p * kPanel), pc, kc, Bp + p * stride);
      for (int64_t ic = 0; ic < M; ic += kMc) {
        const int64_t mc = std::min(kMc, M - ic), mpanels = (mc + kPanel - 1) / kPanel;
        for (int64_t p = 0; p < mpanels; ++p)
          pack_panel(A, lda, !trans_a, ic + p * kPanel, std::min(kPanel, mc - p * kPanel), pc, kc, Ap + p * stride);
        for (int64_t jr = 0; jr < npanels; jr += kNv) {
          const int64_t nv = std::min(kNv, npanels - jr), last = nc - (jr + nv - 1) * kPanel;
          for (int64_t ir = 0; ir < mc; ir += kMr) {
            const uint32_t* a = Ap + (ir / kPanel) * stride + ir % kPanel;
            const uint32_t* b = Bp + jr * stride;
            float* c = C + (ic + ir) * ldc + jc + jr * kPanel;
            const int64_t rows = std::min(kMr, mc - ir);
            const bool acc = pc > 0;
            if (nv == 3) micro_kernel<3>(a, b, stride, pairs, c, ldc, rows, last, alpha, beta, acc);
            else if (nv == 2) micro_kernel<2>(a, b, stride, pairs, c, ldc, rows, last, alpha, beta, acc);
            else micro_kernel<1>(a, b, stride, pairs, c, ldc, rows, last, alpha, beta, acc);
          }
        }
      }
    }
  }
}

void round_to_bf16(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += kPanel) {
    const __mmask16 m = n - i >= kPanel ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m256i h = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i)));
    _mm512_mask_storeu_epi32(out + i, m, _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

void gemm_bf16_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                     int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  auto bf = round_bf16_flushed;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        const float a = trans_a ? A[k * lda + i] : A[i * lda + k];
        const float b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += static_cast<double>(bf(a)) * bf(b);
      }
      float& c = C[i * ldc + j];
      c = static_cast<float>(alpha * acc + (beta == 0.f ? 0.f : beta * c));
    }
}

}  // namespace kiln::cpu
