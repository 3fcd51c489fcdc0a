// Direct AVX-512 convolution kernels; the design is in conv_direct.h. This file is compiled
// with AVX-512 enabled whatever the build's target (CMakeLists.txt), and only entered after
// supported() has checked the CPU.
#include "backend/cpu/conv_direct.h"

#include "backend/cpu/avx512.h"
#include "backend/cpu/scratch.h"
#include "backend/cpu/threads.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace kiln::cpu::direct {

namespace {

// The loops over a register tile (kb < KB, v < V, sb < SB) carry _Pragma("GCC unroll"): the
// accumulators stay in registers only when those loops are unrolled, which GCC does on its own
// at -O3 but not at -O2.

// Samples per pass of the dL/dw kernels: as many (up to 8) as keep their padded inputs and
// gradients within about half an L2.
int64_t group_size(const ConvDims& d) {
  const int64_t bytes = 4 * (d.C * (d.H + 2 * d.pad) * (d.W + 2 * d.pad) + 2 * d.K * (d.P + 2 * d.R) * (d.Q + 2 * d.S));
  return std::clamp<int64_t>((int64_t{512} << 10) / bytes, 1, 8);
}

// Per-thread scratch buffers (scratch.h), one of each kind.
enum Scratch { kInput, kGrad, kGradChannelsLast, kAccum, kBias, kScratchKinds };
float* scratch(Scratch kind, int64_t n) { return thread_scratch<struct DirectConv, kScratchKinds>(kind, n); }

// The weight repack of a call: made by the calling thread, read by every thread of the call.
std::vector<float>& shared_weights() {
  static thread_local std::vector<float> w;
  return w;
}

// Where each thread of a call left its accumulators: 2 slots per thread, kept like scratch().
float** shared_accumulators(int threads) {
  static thread_local std::vector<float*> slots;
  if (slots.size() < static_cast<size_t>(2 * threads)) slots.resize(static_cast<size_t>(2 * threads));
  return slots.data();
}

// src (C, H, W) -> dst (C, H + 2 ph, W + 2 pw) with zeros around. With `mask_by`, each value
// is kept only where mask_by > 0 (the ReLU of a fused epilogue), and with `sums`, the kept values
// of channel c are added into the vector sums[c] (16 lanes; the bias gradient).
void pad_planes(const float* src, const float* mask_by, float* dst, int64_t C, int64_t H, int64_t W, int64_t ph,
                int64_t pw, float* sums = nullptr) {
  const int64_t Hp = H + 2 * ph, Wp = W + 2 * pw;
  std::memset(dst, 0, static_cast<size_t>(C * Hp * Wp) * sizeof(float));
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t c = 0; c < C; ++c) {
    __m512 sum = zero;
    for (int64_t h = 0; h < H; ++h) {
      const float* s = src + (c * H + h) * W;
      const float* m = mask_by ? mask_by + (c * H + h) * W : nullptr;
      float* d = dst + (c * Hp + h + ph) * Wp + pw;
      for (int64_t i = 0; i < W; i += kLanes) {
        __mmask16 lanes = tail_mask(W - i);
        if (m) lanes &= _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(lanes, m + i), zero, _CMP_GT_OQ);
        const __m512 v = _mm512_maskz_loadu_ps(lanes, s + i);
        _mm512_mask_storeu_ps(d + i, tail_mask(W - i), v);
        sum = _mm512_add_ps(sum, v);
      }
    }
    if (sums) _mm512_store_ps(sums + c * kLanes, _mm512_add_ps(_mm512_load_ps(sums + c * kLanes), sum));
  }
}

// One output segment of ROWS rows: y[k0 + kb, p + ρ, q0 : q0 + 16V] for kb < KB, ρ < ROWS, the
// last vector of each row masked by `tail`. xp points at (c = 0, row p, column q0) of the
// padded input (planes of Hp·Wp), wp at (c = 0, r = 0, s = 0, k0) of the weights repacked
// (C, R, S, K). Two rows at once (when a row is one vector) let each weight broadcast feed two
// FMAs: the kernel is then bound by the FMAs rather than by the loads.
template <int KB, int V, int ROWS>
inline void row_kernel(const float* xp, int64_t HpWp, int64_t Wp, const float* wp, int64_t K, int64_t C, int64_t R,
                       int64_t S, __mmask16 tail, const float* bias, float* y, int64_t Q, int64_t PQ, bool relu) {
  constexpr int kSlots = V * ROWS;  // slot ρ·V + v: row ρ, vector v
  __m512 acc[KB][kSlots];
  _Pragma("GCC unroll 16") for (int kb = 0; kb < KB; ++kb)
    _Pragma("GCC unroll 16") for (int v = 0; v < kSlots; ++v) acc[kb][v] = bias ? _mm512_set1_ps(bias[kb]) : _mm512_setzero_ps();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t r = 0; r < R; ++r) {
      const float* row = xp + c * HpWp + r * Wp;
      const float* wr = wp + (c * R + r) * S * K;
      for (int64_t s = 0; s < S; ++s) {
        __m512 xv[kSlots];
        _Pragma("GCC unroll 16") for (int v = 0; v < kSlots; ++v) {
          const float* src = row + (v / V) * Wp + s + kLanes * (v % V);
          xv[v] = v % V == V - 1 ? _mm512_maskz_loadu_ps(tail, src) : _mm512_loadu_ps(src);
        }
        const float* ws = wr + s * K;
        _Pragma("GCC unroll 16") for (int kb = 0; kb < KB; ++kb) {
          const __m512 wv = _mm512_set1_ps(ws[kb]);
          _Pragma("GCC unroll 16") for (int v = 0; v < kSlots; ++v) acc[kb][v] = _mm512_fmadd_ps(wv, xv[v], acc[kb][v]);
        }
      }
    }
  const __m512 zero = _mm512_setzero_ps();
  _Pragma("GCC unroll 16") for (int kb = 0; kb < KB; ++kb)
    _Pragma("GCC unroll 16") for (int v = 0; v < kSlots; ++v) {
      const __m512 out = relu ? _mm512_max_ps(acc[kb][v], zero) : acc[kb][v];
      float* dst = y + kb * PQ + (v / V) * Q + kLanes * (v % V);
      if (v % V == V - 1)
        _mm512_mask_storeu_ps(dst, tail, out);
      else
        _mm512_storeu_ps(dst, out);
    }
}

// Output rows of one sample: out (K, P, Q) from xp (C, P + R - 1, Q + S - 1) and wp
// (C, R, S, K). Columns go in segments of up to two vectors (rows of one vector in pairs),
// output channels in blocks sized so the accumulators fill most of the 32 registers.
template <int V, int ROWS>
void rows_kb(int64_t kb, const float* xp, int64_t HpWp, int64_t Wp, const float* wp, int64_t K, int64_t C, int64_t R,
             int64_t S, __mmask16 tail, const float* bias, float* y, int64_t Q, int64_t PQ, bool relu) {
  switch (kb) {
    case 16: return row_kernel<16, V, ROWS>(xp, HpWp, Wp, wp, K, C, R, S, tail, bias, y, Q, PQ, relu);
    case 12: return row_kernel<12, V, ROWS>(xp, HpWp, Wp, wp, K, C, R, S, tail, bias, y, Q, PQ, relu);
    case 8: return row_kernel<8, V, ROWS>(xp, HpWp, Wp, wp, K, C, R, S, tail, bias, y, Q, PQ, relu);
    case 4: return row_kernel<4, V, ROWS>(xp, HpWp, Wp, wp, K, C, R, S, tail, bias, y, Q, PQ, relu);
    case 2: return row_kernel<2, V, ROWS>(xp, HpWp, Wp, wp, K, C, R, S, tail, bias, y, Q, PQ, relu);
    default: return row_kernel<1, V, ROWS>(xp, HpWp, Wp, wp, K, C, R, S, tail, bias, y, Q, PQ, relu);
  }
}

// The largest block size available for the remaining channels, given the vectors per channel.
int64_t block_for(int64_t remaining, int slots) {
  const int64_t cap = slots == 1 ? 16 : 12;
  for (int64_t kb : {16, 12, 8, 4, 2, 1})
    if (kb <= cap && kb <= remaining) return kb;
  return 1;
}

void conv_sample(const float* xp, int64_t C, int64_t Hp, int64_t Wp, const float* wp, const float* bias, float* y,
                 int64_t K, int64_t R, int64_t S, int64_t P, int64_t Q, bool relu) {
  const int64_t HpWp = Hp * Wp, PQ = P * Q;
  for (int64_t p = 0; p < P;) {
    const bool pair = Q <= kLanes && p + 1 < P;  // one vector per row: two rows at a time
    for (int64_t q0 = 0; q0 < Q; q0 += 2 * kLanes) {
      const int64_t width = std::min<int64_t>(2 * kLanes, Q - q0);
      const int V = width > kLanes ? 2 : 1;
      const __mmask16 tail = tail_mask(width - kLanes * (V - 1));
      for (int64_t k0 = 0; k0 < K;) {
        const int64_t kb = block_for(K - k0, pair ? 2 : V);
        const float* x0 = xp + p * Wp + q0;
        float* y0 = y + k0 * PQ + p * Q + q0;
        const float* b0 = bias ? bias + k0 : nullptr;
        if (pair)
          rows_kb<1, 2>(kb, x0, HpWp, Wp, wp + k0, K, C, R, S, tail, b0, y0, Q, PQ, relu);
        else if (V == 2)
          rows_kb<2, 1>(kb, x0, HpWp, Wp, wp + k0, K, C, R, S, tail, b0, y0, Q, PQ, relu);
        else
          rows_kb<1, 1>(kb, x0, HpWp, Wp, wp + k0, K, C, R, S, tail, b0, y0, Q, PQ, relu);
        k0 += kb;
      }
    }
    p += pair ? 2 : 1;
  }
}

// dw accumulators: KB output channels × SB kernel columns, for one (c, r), over the samples
// of a group. acc lives in `accum` as vectors at ((c·R + r)·S + s)·K + k.
template <int KB, int SB>
void dw_kernel(const float* g, int64_t gsample, int64_t gk, int64_t grow, const float* xp, int64_t xsample,
               int64_t Wp, int64_t P, int64_t Q, int64_t n, float* accum, int64_t K) {
  __m512 acc[KB][SB];
  _Pragma("GCC unroll 16") for (int kb = 0; kb < KB; ++kb)
    _Pragma("GCC unroll 16") for (int sb = 0; sb < SB; ++sb) acc[kb][sb] = _mm512_load_ps(accum + (sb * K + kb) * kLanes);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < P; ++p) {
      const float* gr = g + i * gsample + p * grow;
      const float* xr = xp + i * xsample + p * Wp;
      for (int64_t q0 = 0; q0 < Q; q0 += kLanes) {
        const __mmask16 m = tail_mask(Q - q0);
        __m512 gv[KB];
        _Pragma("GCC unroll 16") for (int kb = 0; kb < KB; ++kb) gv[kb] = _mm512_maskz_loadu_ps(m, gr + kb * gk + q0);
        _Pragma("GCC unroll 16") for (int sb = 0; sb < SB; ++sb) {
          const __m512 xv = _mm512_maskz_loadu_ps(m, xr + q0 + sb);
          _Pragma("GCC unroll 16") for (int kb = 0; kb < KB; ++kb) acc[kb][sb] = _mm512_fmadd_ps(gv[kb], xv, acc[kb][sb]);
        }
      }
    }
  _Pragma("GCC unroll 16") for (int kb = 0; kb < KB; ++kb)
    _Pragma("GCC unroll 16") for (int sb = 0; sb < SB; ++sb) _mm512_store_ps(accum + (sb * K + kb) * kLanes, acc[kb][sb]);
}

template <int KB>
void dw_sb(int64_t sb, const float* g, int64_t gsample, int64_t gk, int64_t grow, const float* xp, int64_t xsample,
           int64_t Wp, int64_t P, int64_t Q, int64_t n, float* accum, int64_t K) {
  switch (sb) {
    case 5: return dw_kernel<KB, 5>(g, gsample, gk, grow, xp, xsample, Wp, P, Q, n, accum, K);
    case 4: return dw_kernel<KB, 4>(g, gsample, gk, grow, xp, xsample, Wp, P, Q, n, accum, K);
    case 3: return dw_kernel<KB, 3>(g, gsample, gk, grow, xp, xsample, Wp, P, Q, n, accum, K);
    case 2: return dw_kernel<KB, 2>(g, gsample, gk, grow, xp, xsample, Wp, P, Q, n, accum, K);
    default: return dw_kernel<KB, 1>(g, gsample, gk, grow, xp, xsample, Wp, P, Q, n, accum, K);
  }
}

// (c, r) loops over blocks of 4 output channels × up to 5 kernel columns (20 accumulators).
void dw_group(const float* g, int64_t gsample, int64_t gk, int64_t grow, const float* xp, int64_t C, int64_t Hp,
              int64_t Wp, int64_t n, float* accum, const ConvDims& d) {
  const int64_t xsample = C * Hp * Wp;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t r = 0; r < d.R; ++r)
      for (int64_t s0 = 0; s0 < d.S; s0 += 5) {
        const int64_t sb = std::min<int64_t>(5, d.S - s0);
        for (int64_t k0 = 0; k0 < d.K;) {
          const int64_t kb = d.K - k0 >= 4 ? 4 : d.K - k0 >= 2 ? 2 : 1;
          const float* gk0 = g + k0 * gk;
          const float* x0 = xp + c * Hp * Wp + r * Wp + s0;
          float* a = accum + (((c * d.R + r) * d.S + s0) * d.K + k0) * kLanes;
          if (kb == 4) dw_sb<4>(sb, gk0, gsample, gk, grow, x0, xsample, Wp, d.P, d.Q, n, a, d.K);
          else if (kb == 2) dw_sb<2>(sb, gk0, gsample, gk, grow, x0, xsample, Wp, d.P, d.Q, n, a, d.K);
          else dw_sb<1>(sb, gk0, gsample, gk, grow, x0, xsample, Wp, d.P, d.Q, n, a, d.K);
          k0 += kb;
        }
      }
}

// dL/dw with the 16 lanes over output channels (for K ≥ 12 and 5x5 or 3x3 kernels): g in
// channels-last layout gcl (P·Q, KP) with KP = K rounded up to 16, and one accumulator per
// kernel tap, so each pixel costs one load of g and R·S broadcasts of x, as the forward
// kernel — and no lanes to sum at the end:
//   acc[r][s] (k0..k0+15) += g[p, q, k0:k0+16] · xp[c, p + r, q + s]
// over the pixels of a group of samples; acc lives in `out` at ((c·R + r)·S + s)·KP + k0.
template <int KB, int R, int S>
void dwc_kernel(const float* gcl, int64_t g_sample, int64_t KP, const float* xp, int64_t x_sample, int64_t Wp,
                int64_t P, int64_t Q, int64_t n, float* out) {
  __m512 acc[KB][R][S];
  _Pragma("GCC unroll 2") for (int kb = 0; kb < KB; ++kb)
    _Pragma("GCC unroll 8") for (int r = 0; r < R; ++r)
      _Pragma("GCC unroll 8") for (int s = 0; s < S; ++s) acc[kb][r][s] = _mm512_load_ps(out + (r * S + s) * KP + kb * kLanes);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < P; ++p) {
      const float* g = gcl + i * g_sample + p * Q * KP;
      const float* xr = xp + i * x_sample + p * Wp;
      int64_t q = 0;
      // Pixels q and q + 1 together: x[r, q + t] is tap t of pixel q and tap t - 1 of pixel
      // q + 1, so each broadcast serves two FMAs.
      for (; q + 1 < Q; q += 2) {
        __m512 g0[KB], g1[KB];
        _Pragma("GCC unroll 2") for (int kb = 0; kb < KB; ++kb) {
          g0[kb] = _mm512_load_ps(g + q * KP + kb * kLanes);
          g1[kb] = _mm512_load_ps(g + (q + 1) * KP + kb * kLanes);
        }
        _Pragma("GCC unroll 8") for (int r = 0; r < R; ++r)
          _Pragma("GCC unroll 8") for (int t = 0; t <= S; ++t) {
            const __m512 xv = _mm512_set1_ps(xr[r * Wp + q + t]);
            _Pragma("GCC unroll 2") for (int kb = 0; kb < KB; ++kb) {
              if (t < S) acc[kb][r][t] = _mm512_fmadd_ps(g0[kb], xv, acc[kb][r][t]);
              if (t > 0) acc[kb][r][t - 1] = _mm512_fmadd_ps(g1[kb], xv, acc[kb][r][t - 1]);
            }
          }
      }
      for (; q < Q; ++q) {
        __m512 gv[KB];
        _Pragma("GCC unroll 2") for (int kb = 0; kb < KB; ++kb) gv[kb] = _mm512_load_ps(g + q * KP + kb * kLanes);
        _Pragma("GCC unroll 8") for (int r = 0; r < R; ++r)
          _Pragma("GCC unroll 8") for (int s = 0; s < S; ++s) {
            const __m512 xv = _mm512_set1_ps(xr[r * Wp + q + s]);
            _Pragma("GCC unroll 2") for (int kb = 0; kb < KB; ++kb) acc[kb][r][s] = _mm512_fmadd_ps(gv[kb], xv, acc[kb][r][s]);
          }
      }
    }
  _Pragma("GCC unroll 2") for (int kb = 0; kb < KB; ++kb)
    _Pragma("GCC unroll 8") for (int r = 0; r < R; ++r)
      _Pragma("GCC unroll 8") for (int s = 0; s < S; ++s) _mm512_store_ps(out + (r * S + s) * KP + kb * kLanes, acc[kb][r][s]);
}

bool channels_path(const ConvDims& d) { return d.K >= 12 && d.R == d.S && (d.R == 5 || d.R == 3); }

// 5x5: one block of 16 channels (25 accumulators); 3x3: two blocks where there are two (18).
void dwc_group(const float* gcl, int64_t KP, const float* xp, int64_t C, int64_t Hp, int64_t Wp, int64_t n,
               float* accum, const ConvDims& d) {
  const int64_t g_sample = d.pq() * KP, x_sample = C * Hp * Wp;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t k0 = 0; k0 < KP;) {
      const float* x0 = xp + c * Hp * Wp;
      float* out = accum + c * d.R * d.S * KP + k0;
      if (d.R == 5) {
        dwc_kernel<1, 5, 5>(gcl + k0, g_sample, KP, x0, x_sample, Wp, d.P, d.Q, n, out);
        k0 += kLanes;
      } else if (KP - k0 >= 2 * kLanes) {
        dwc_kernel<2, 3, 3>(gcl + k0, g_sample, KP, x0, x_sample, Wp, d.P, d.Q, n, out);
        k0 += 2 * kLanes;
      } else {
        dwc_kernel<1, 3, 3>(gcl + k0, g_sample, KP, x0, x_sample, Wp, d.P, d.Q, n, out);
        k0 += kLanes;
      }
    }
}

// One sample's g in channels-last layout: gcl[pq, k] = dy[k, pq] (0 where a fused ReLU's output
// y[k, pq] is not positive, and for k ≥ K), transposed in 16×16 blocks. The kept values are
// added into sums (KP floats: the bias gradient, one lane per channel).
void to_channels_last(const float* dy, const float* y, int64_t K, int64_t PQ, int64_t KP, float* gcl, float* sums) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t k0 = 0; k0 < KP; k0 += kLanes) {
    __m512 sum = _mm512_load_ps(sums + k0);
    for (int64_t pq0 = 0; pq0 < PQ; pq0 += kLanes) {
      const int64_t n = std::min(kLanes, PQ - pq0);
      const __mmask16 m = tail_mask(n);
      __m512 r[16];
      _Pragma("GCC unroll 16") for (int i = 0; i < 16; ++i) {
        const int64_t k = k0 + i;
        if (k >= K) {
          r[i] = zero;
          continue;
        }
        __mmask16 keep = m;
        if (y) keep &= _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m, y + k * PQ + pq0), zero, _CMP_GT_OQ);
        r[i] = _mm512_maskz_loadu_ps(keep, dy + k * PQ + pq0);
      }
      transpose16(r);
      for (int64_t j = 0; j < n; ++j) {
        _mm512_store_ps(gcl + (pq0 + j) * KP + k0, r[j]);
        sum = _mm512_add_ps(sum, r[j]);
      }
    }
    _mm512_store_ps(sums + k0, sum);
  }
}

float hsum(const float* v) {
  return _mm512_reduce_add_ps(_mm512_load_ps(v));
}

}  // namespace

bool supported(const ConvDims& d) {
  static const bool cpu_ok = __builtin_cpu_supports("avx512f");
  // The pixel path keeps 16 partial sums per weight per thread: fine up to a few MB.
  return cpu_ok && d.stride == 1 && d.pad <= d.R - 1 && d.pad <= d.S - 1 && d.P > 0 && d.Q > 0 &&
         (channels_path(d) || d.crs() * d.K <= (int64_t{1} << 15));
}

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvDims& d, Epilogue epilogue) {
  const int64_t Hp = d.H + 2 * d.pad, Wp = d.W + 2 * d.pad;
  // w (K, C, R, S) -> (C, R, S, K): the KB weights a row kernel broadcasts are adjacent.
  std::vector<float>& wp = shared_weights();
  wp.resize(static_cast<size_t>(d.K * d.crs()));
  for (int64_t k = 0; k < d.K; ++k)
    for (int64_t crs = 0; crs < d.crs(); ++crs) wp[static_cast<size_t>(crs * d.K + k)] = w[k * d.crs() + crs];
  const bool relu = epilogue == Epilogue::relu;
  parallel_for(d.N, d.N > 1, [&](int64_t n_begin, int64_t n_end) {
    for (int64_t n = n_begin; n < n_end; ++n) {
      float* xp = scratch(kInput, d.C * Hp * Wp);
      pad_planes(x + n * d.C * d.H * d.W, nullptr, xp, d.C, d.H, d.W, d.pad, d.pad);
      conv_sample(xp, d.C, Hp, Wp, wp.data(), b, y + n * d.K * d.pq(), d.K, d.R, d.S, d.P, d.Q, relu);
    }
  });
}

void conv2d_backward(const float* x, const float* w, const float* y, const float* dy, float* dx, float* dw, float* db,
                     const ConvDims& d, Epilogue epilogue) {
  const int64_t Hp = d.H + 2 * d.pad, Wp = d.W + 2 * d.pad;
  // g padded by R-1-pad (S-1-pad) is the input of the dL/dx convolution, whose output is (H, W).
  const int64_t gpad_h = d.R - 1 - d.pad, gpad_w = d.S - 1 - d.pad;
  const int64_t Gh = d.P + 2 * gpad_h, Gw = d.Q + 2 * gpad_w, gsample = d.K * Gh * Gw;
  const float* relu_mask = epilogue == Epilogue::relu ? y : nullptr;
  // dL/dx weights: wt (K, R, S, C) with wt[k, r, s, c] = w[k, c, R-1-r, S-1-s] — the (C', R, S, K')
  // layout of the row kernel with C' = K input channels and K' = C outputs.
  std::vector<float>& wt = shared_weights();
  if (dx) {
    wt.resize(static_cast<size_t>(d.K * d.crs()));
    for (int64_t k = 0; k < d.K; ++k)
      for (int64_t c = 0; c < d.C; ++c)
        for (int64_t r = 0; r < d.R; ++r)
          for (int64_t s = 0; s < d.S; ++s)
            wt[static_cast<size_t>(((k * d.R + r) * d.S + s) * d.C + c)] =
                w[((k * d.C + c) * d.R + (d.R - 1 - r)) * d.S + (d.S - 1 - s)];
  }
  // Accumulators: (C, R, S, KP) floats on the channel path, (C, R, S, K) vectors of 16 partial
  // sums on the pixel path.
  const bool by_channels = channels_path(d);
  const int64_t KP = (d.K + kLanes - 1) / kLanes * kLanes;
  const int64_t accum_n = by_channels ? d.crs() * KP : d.crs() * d.K * kLanes;
  const int threads = d.N > 1 ? static_cast<int>(std::min<int64_t>(thread_count(), d.N)) : 1;
  float** accums = shared_accumulators(threads);
  float** bias_accums = accums + threads;
  int used = 1;  // threads that ran: fewer than asked when the pool is busy or we are nested
  parallel_run([&](int t, int nt) {
    if (t == 0) used = nt;
    float* accum = scratch(kAccum, accum_n);
    // Bias sums: one lane per channel on the channel path, 16 partial sums per channel else.
    const int64_t bias_n = by_channels ? KP : d.K * kLanes;
    float* bacc = scratch(kBias, bias_n);
    std::memset(accum, 0, static_cast<size_t>(accum_n) * sizeof(float));
    std::memset(bacc, 0, static_cast<size_t>(bias_n) * sizeof(float));
    accums[t] = accum;
    bias_accums[t] = bacc;
    const int64_t per = (d.N + nt - 1) / nt, n_begin = std::min(d.N, t * per), n_end = std::min(d.N, n_begin + per);
    const int64_t group = group_size(d);
    float* xg = scratch(kInput, group * d.C * Hp * Wp);
    float* gg = scratch(kGrad, group * gsample);
    float* gcl = by_channels ? scratch(kGradChannelsLast, group * d.pq() * KP) : nullptr;
    for (int64_t n0 = n_begin; n0 < n_end; n0 += group) {
      const int64_t m = std::min(group, n_end - n0);
      for (int64_t i = 0; i < m; ++i) {
        const int64_t n = n0 + i;
        float* gi = gg + i * gsample;
        const float* dyn = dy + n * d.K * d.pq();
        const float* yn = relu_mask ? relu_mask + n * d.K * d.pq() : nullptr;
        // g padded for the dL/dx convolution (and for the pixel path's dL/dw); g channels-last
        // for the channel path's dL/dw. The bias sums come with whichever is built first.
        if (by_channels) to_channels_last(dyn, yn, d.K, d.pq(), KP, gcl + i * d.pq() * KP, bacc);
        if (dx || !by_channels) pad_planes(dyn, yn, gi, d.K, d.P, d.Q, gpad_h, gpad_w, by_channels ? nullptr : bacc);
        pad_planes(x + n * d.C * d.H * d.W, nullptr, xg + i * d.C * Hp * Wp, d.C, d.H, d.W, d.pad, d.pad);
        if (dx)
          conv_sample(gi, d.K, Gh, Gw, wt.data(), nullptr, dx + n * d.C * d.H * d.W, d.C, d.R, d.S, d.H, d.W, false);
      }
      if (by_channels)
        dwc_group(gcl, KP, xg, d.C, Hp, Wp, m, accum, d);
      else  // g's interior starts gpad rows and columns in.
        dw_group(gg + gpad_h * Gw + gpad_w, gsample, Gh * Gw, Gw, xg, d.C, Hp, Wp, m, accum, d);
    }
  }, threads);
  // dw[k, c, r, s] += every thread's accumulator for ((c, r, s), k) (summed over its lanes on the
  // pixel path).
  const int64_t CRS = d.crs();
  parallel_for(CRS, CRS * d.K > 4096, [&](int64_t crs_begin, int64_t crs_end) {
    for (int64_t crs = crs_begin; crs < crs_end; ++crs)
      for (int64_t k = 0; k < d.K; ++k) {
        float s = 0;
        for (int t = 0; t < used; ++t) {
          const float* a = accums[t];
          s += by_channels ? a[crs * KP + k] : hsum(a + (crs * d.K + k) * kLanes);
        }
        dw[k * CRS + crs] += s;
      }
  });
  if (db)
    for (int64_t k = 0; k < d.K; ++k)
      for (int t = 0; t < used; ++t) {
        const float* b = bias_accums[t];
        db[k] += by_channels ? b[k] : hsum(b + k * kLanes);
      }
}

}  // namespace kiln::cpu::direct
