// Winograd F(4x4, 3x3) and F(4x4, 5x5) convolution kernels; the design and the math are in conv_winograd.h.
// Compiled with AVX-512 enabled whatever the build's target (CMakeLists.txt), entered only after
// supported() has checked the CPU.
#include "backend/cpu/conv_winograd.h"
#include "backend/cpu/winograd_transforms.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "backend/cpu/avx512.h"
#include "backend/cpu/scratch.h"
#include "backend/cpu/threads.h"
#include "backend/cpu/winograd_bf16.h"

namespace kiln::cpu::winograd {

namespace {

// How the output is cut into tiles, and the tiles into blocks (one thread's unit of work).
struct Tiling {
  int64_t TH, TW;       // tiles down and across a sample: ceil(P / 4), ceil(Q / 4)
  int64_t rows;         // tile rows in the batch: N · TH
  int64_t block_rows;   // tile rows per block
  int64_t blocks;
  int64_t block_tiles;  // tiles of a full block
  int64_t Wt;           // input columns a tile row reads: 4·TW + r - 1
};

template <class W>
Tiling tiling(const ConvDims& d) {
  Tiling t{};
  t.TH = (d.P + kTile - 1) / kTile;
  t.TW = (d.Q + kTile - 1) / kTile;
  t.rows = d.N * t.TH;
  // A block's V and M (α² · tiles · (C + K) floats) in about half an L2 (1 MB).
  const int64_t tiles = std::clamp<int64_t>((int64_t{1} << 20) / (W::xi * (d.C + d.K) * 4), 12, 256);
  t.block_rows = std::clamp<int64_t>(tiles / t.TW, 1, t.rows);
  t.blocks = (t.rows + t.block_rows - 1) / t.block_rows;
  t.block_tiles = t.block_rows * t.TW;
  t.Wt = kTile * t.TW + W::r - 1;
  return t;
}

// Per-thread buffers (scratch.h).
enum Slot { kRows, kV, kM, kTileRows, kFilters, kAccum, kFilterPairs, kPairsA, kPairsB, kSlots };
float* scratch(Slot s, int64_t n) { return thread_scratch<struct WinogradConv, kSlots>(s, n); }
// The bf16 pairs (winograd_bf16.h) live in float scratch: same size, same alignment.
uint32_t* pair_scratch(Slot s, int64_t n) { return reinterpret_cast<uint32_t*>(scratch(s, n)); }

// dst (rows, width, C) = rows h0 .. h0 + rows - 1 of src (C, H, W) channels last and shifted
// right by `left` columns: dst[i, u, c] = src[c, h0 + i, u - left], zero outside src and where
// mask_by (src's layout) is not positive. With sums, the kept values of channel c are added
// into sums[c]. C is a multiple of 16: 16×16 blocks are transposed in registers.
void to_channels_last_rows(const float* src, const float* mask_by, int64_t C, int64_t H, int64_t W, int64_t h0,
                           int rows, int64_t left, int64_t width, float* dst, float* sums) {
  const int64_t HW = H * W;
  const __m512 zero = _mm512_setzero_ps();
  for (int i = 0; i < rows; ++i) {
    float* out = dst + i * width * C;
    const int64_t h = h0 + i;
    if (h < 0 || h >= H) {
      std::memset(out, 0, static_cast<size_t>(width * C) * sizeof(float));
      continue;
    }
    const int64_t cols = std::min(W, width - left);  // the image columns that land in dst
    std::memset(out, 0, static_cast<size_t>(left * C) * sizeof(float));
    std::memset(out + (left + cols) * C, 0, static_cast<size_t>((width - left - cols) * C) * sizeof(float));
    for (int64_t c0 = 0; c0 < C; c0 += kLanes) {
      __m512 sum = zero;
      for (int64_t w0 = 0; w0 < cols; w0 += kLanes) {
        const int64_t n = std::min(kLanes, cols - w0);
        const __mmask16 m = tail_mask(n);
        __m512 r[16];
        _Pragma("GCC unroll 16") for (int l = 0; l < 16; ++l) {
          const int64_t at = (c0 + l) * HW + h * W + w0;
          __mmask16 keep = m;
          if (mask_by) keep &= _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m, mask_by + at), zero, _CMP_GT_OQ);
          r[l] = _mm512_maskz_loadu_ps(keep, src + at);
        }
        transpose16(r);
        for (int64_t j = 0; j < n; ++j) {
          _mm512_store_ps(out + (left + w0 + j) * C + c0, r[j]);
          sum = sum + r[j];
        }
      }
      if (sums) _mm512_storeu_ps(sums + c0, _mm512_loadu_ps(sums + c0) + sum);
    }
  }
}

// V[ξ, tx, c] (rows of stride C, ξ every vs floats) = (Bᵀ d B)[ξ] for the tiles tx of a tile row,
// d the α×α window at column 4·tx of xr (α, Wt, C).
template <class W>
void transform_inputs(const float* xr, int64_t Wt, int64_t TW, int64_t C, float* V, int64_t vs) {
  for (int64_t tx = 0; tx < TW; ++tx)
    for (int64_t c0 = 0; c0 < C; c0 += kLanes) {
      const float* d = xr + kTile * tx * C + c0;
      float* v = V + tx * C + c0;
      sandwich<W::Bt>([&](int i, int j) { return _mm512_load_ps(d + (i * Wt + j) * C); },
                      [&](int i, int j, __m512 x) { _mm512_store_ps(v + (i * W::alpha + j) * vs, x); });
    }
}

// dM[ξ, tx, k] = (A g Aᵀ)[ξ] for the 4x4 tiles tx of gr (4, 4·TW, K): the adjoint of the
// output transform.
template <class W>
void transform_gradients(const float* gr, int64_t TW, int64_t K, float* dM, int64_t ms) {
  const int64_t width = kTile * TW;
  for (int64_t tx = 0; tx < TW; ++tx)
    for (int64_t k0 = 0; k0 < K; k0 += kLanes) {
      const float* g = gr + kTile * tx * K + k0;
      float* dm = dM + tx * K + k0;
      sandwich<W::A>([&](int i, int j) { return _mm512_load_ps(g + (i * width + j) * K); },
                     [&](int i, int j, __m512 x) { _mm512_store_ps(dm + (i * W::alpha + j) * ms, x); });
    }
}

// yr (4, 4·TW, K) = Aᵀ M A (+ bias, ReLU) for the tiles of a tile row, channels last.
template <class W>
void transform_outputs(const float* M, int64_t ms, int64_t TW, int64_t K, const float* bias, bool relu, float* yr) {
  const int64_t width = kTile * TW;
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t tx = 0; tx < TW; ++tx)
    for (int64_t k0 = 0; k0 < K; k0 += kLanes) {
      const float* m = M + tx * K + k0;
      float* y = yr + kTile * tx * K + k0;
      const __m512 b = bias ? _mm512_loadu_ps(bias + k0) : zero;
      sandwich<W::At>([&](int i, int j) { return _mm512_load_ps(m + (i * W::alpha + j) * ms); },
                      [&](int i, int j, __m512 x) {
                        x = x + b;
                        if (relu) x = _mm512_max_ps(x, zero);
                        _mm512_store_ps(y + (i * width + j) * K, x);
                      });
    }
}

// Output rows p0 .. p0 + 3 (those below P) of one sample, yn (K, P, Q), from yr (4, 4·TW, K).
void store_rows(const float* yr, int64_t TW, int64_t K, int64_t P, int64_t Q, int64_t p0, float* yn) {
  const int64_t width = kTile * TW;
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t i = 0; i < kTile && p0 + i < P; ++i)
    for (int64_t k0 = 0; k0 < K; k0 += kLanes)
      for (int64_t q0 = 0; q0 < Q; q0 += kLanes) {
        const int64_t n = std::min(kLanes, Q - q0);
        __m512 r[16];
        _Pragma("GCC unroll 16") for (int j = 0; j < 16; ++j) r[j] = j < n ? _mm512_load_ps(yr + (i * width + q0 + j) * K + k0) : zero;
        transpose16(r);
        _Pragma("GCC unroll 16") for (int l = 0; l < 16; ++l)
          _mm512_mask_storeu_ps(yn + ((k0 + l) * P + p0 + i) * Q + q0, tail_mask(n), r[l]);
      }
}

// c[i, 0:16·KV] (+)= Σ_r a[i·as + r·rs] · b[r·ldb + 0:16·KV] for i < TB: one register tile of a
// GEMM, each loaded row of b used by TB broadcasts of a.
template <int TB, int KV>
void gemm_tile(const float* a, int64_t as, int64_t rs, int64_t R, const float* b, int64_t ldb, float* c, int64_t ldc,
               bool accumulate) {
  __m512 acc[TB][KV];
  _Pragma("GCC unroll 8") for (int i = 0; i < TB; ++i)
    _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v)
      acc[i][v] = accumulate ? _mm512_load_ps(c + i * ldc + v * kLanes) : _mm512_setzero_ps();
  for (int64_t r = 0; r < R; ++r) {
    __m512 bv[KV];
    _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v) bv[v] = _mm512_load_ps(b + r * ldb + v * kLanes);
    _Pragma("GCC unroll 8") for (int i = 0; i < TB; ++i) {
      const __m512 av = _mm512_set1_ps(a[i * as + r * rs]);
      _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v) acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
    }
  }
  _Pragma("GCC unroll 8") for (int i = 0; i < TB; ++i)
    _Pragma("GCC unroll 4") for (int v = 0; v < KV; ++v) _mm512_store_ps(c + i * ldc + v * kLanes, acc[i][v]);
}

template <int KV>
void gemm_rows(int64_t tb, const float* a, int64_t as, int64_t rs, int64_t R, const float* b, int64_t ldb, float* c,
               int64_t ldc, bool accumulate) {
  switch (tb) {
    case 6: return gemm_tile<6, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
    case 5: return gemm_tile<5, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
    case 4: return gemm_tile<4, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
    case 3: return gemm_tile<3, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
    case 2: return gemm_tile<2, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
    default: return gemm_tile<1, KV>(a, as, rs, R, b, ldb, c, ldc, accumulate);
  }
}

// C (rows, cols) (+)= A (rows, R) · B (R, cols), A[i, r] at a[i·as + r·rs], B and C row-major
// with cols a multiple of 16, in register tiles of 6 rows × 64 columns.
void gemm(const float* a, int64_t as, int64_t rs, int64_t rows, int64_t R, const float* b, int64_t ldb, int64_t cols,
          float* c, int64_t ldc, bool accumulate) {
  for (int64_t k0 = 0; k0 < cols;) {
    const int64_t left = (cols - k0) / kLanes, kv = left >= 4 ? 4 : left >= 2 ? 2 : 1;
    for (int64_t i0 = 0; i0 < rows; i0 += 6) {
      const int64_t tb = std::min<int64_t>(6, rows - i0);
      const float* ai = a + i0 * as;
      float* ci = c + i0 * ldc + k0;
      if (kv == 4) gemm_rows<4>(tb, ai, as, rs, R, b + k0, ldb, ci, ldc, accumulate);
      else if (kv == 2) gemm_rows<2>(tb, ai, as, rs, R, b + k0, ldb, ci, ldc, accumulate);
      else gemm_rows<1>(tb, ai, as, rs, R, b + k0, ldb, ci, ldc, accumulate);
    }
    k0 += kv * kLanes;
  }
}

// U (α², in, out): U[ξ, c, k] = (G w[k, c] Gᵀ)[ξ] for w (K, C, r, r); with flip, the filters of
// the dL/dx convolution, input channels k and output channels c: U[ξ, k, c] = (G rot180(w[k, c]) Gᵀ)[ξ].
template <class W>
void transform_filters(const float* w, int64_t K, int64_t C, bool flip, float* U) {
  const int64_t in = flip ? K : C, out = flip ? C : K;
  // Lane l of a register is output channel o0 + l: w[(k·C + c)·r² + rs] is lanes C·r² apart for
  // k = o0 + l (forward) and r² apart for c = o0 + l (flipped).
  constexpr int rr = W::rr;
  alignas(64) int lane_offsets[16];
  for (int l = 0; l < 16; ++l) lane_offsets[l] = static_cast<int>(l * (flip ? rr : C * rr));
  const __m512i offsets = _mm512_load_si512(lane_offsets);
  parallel_for(in, in * out > 4096, [&](int64_t i_begin, int64_t i_end) {
    for (int64_t i = i_begin; i < i_end; ++i)
      for (int64_t o0 = 0; o0 < out; o0 += kLanes) {
        const float* base = flip ? w + (i * C + o0) * rr : w + (o0 * C + i) * rr;
        __m512 g[rr];
        _Pragma("GCC unroll 25") for (int rs = 0; rs < rr; ++rs)
          g[rs] = _mm512_i32gather_ps(offsets, base + (flip ? rr - 1 - rs : rs), 4);
        float* u = U + i * out + o0;
        sandwich<W::G>([&](int a, int b) { return g[a * W::r + b]; },
                       [&](int a, int b, __m512 x) { _mm512_store_ps(u + (a * W::alpha + b) * in * out, x); });
      }
  });
}

// dw[k, c] += Gᵀ dU[·, c, k] G, dU summed over `count` accumulators `stride` floats apart, each
// (α², C, K): the adjoint of the filter transform.
template <class W>
void add_filter_gradients(const float* dU, int count, int64_t stride, int64_t C, int64_t K, float* dw) {
  parallel_for(C, C * K > 4096, [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c)
      for (int64_t k0 = 0; k0 < K; k0 += kLanes) {
        constexpr int rr = W::rr;
        __m512 u[W::xi], g[rr];
        _Pragma("GCC unroll 64") for (int xi = 0; xi < W::xi; ++xi) {
          const float* at = dU + (xi * C + c) * K + k0;
          u[xi] = _mm512_load_ps(at);
          for (int t = 1; t < count; ++t) u[xi] = u[xi] + _mm512_load_ps(at + t * stride);
        }
        sandwich<W::Gt>([&](int a, int b) { return u[a * W::alpha + b]; },
                        [&](int a, int b, __m512 x) { g[a * W::r + b] = x; });
        alignas(64) float lanes[rr][16];
        for (int rs = 0; rs < rr; ++rs) _mm512_store_ps(lanes[rs], g[rs]);
        for (int64_t l = 0; l < kLanes; ++l)
          for (int rs = 0; rs < rr; ++rs) dw[((k0 + l) * C + c) * rr + rs] += lanes[rs][l];
      }
  });
}

// y (N, K, P, Q) = the convolution of x (masked by mask_by where given) with the transformed
// filters U (+ bias, ReLU), block by block: inputs -> V, α² GEMMs -> M, M -> outputs. With Up
// (U in bf16 pairs along C, pack_filters), the GEMMs are bf16 products with fp32 sums.
template <class W>
void forward_tiles(const float* x, const float* mask_by, const float* U, const uint32_t* Up, const float* bias,
                   float* y, const ConvDims& d, bool relu) {
  const Tiling t = tiling<W>(d);
  const int64_t vs = t.block_tiles * d.C, ms = t.block_tiles * d.K, xn = d.C * d.H * d.W;
  parallel_for(t.blocks, t.blocks > 1, [&](int64_t b_begin, int64_t b_end) {
    float* xr = scratch(kRows, W::alpha * t.Wt * d.C);
    float* V = scratch(kV, W::xi * vs);
    float* M = scratch(kM, W::xi * ms);
    float* yr = scratch(kTileRows, kTile * kTile * t.TW * d.K);
    uint32_t* Vp = Up ? pair_scratch(kPairsA, t.block_tiles * d.C / 2) : nullptr;
    for (int64_t b = b_begin; b < b_end; ++b) {
      const int64_t r0 = b * t.block_rows, r1 = std::min(t.rows, r0 + t.block_rows), tiles = (r1 - r0) * t.TW;
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / t.TH, ty = r % t.TH;
        to_channels_last_rows(x + n * xn, mask_by ? mask_by + n * xn : nullptr, d.C, d.H, d.W, kTile * ty - d.pad,
                              W::alpha, d.pad, t.Wt, xr, nullptr);
        transform_inputs<W>(xr, t.Wt, t.TW, d.C, V + (r - r0) * t.TW * d.C, vs);
      }
      for (int xi = 0; xi < W::xi; ++xi) {  // M_ξ (tiles, K) = V_ξ (tiles, C) · U_ξ (C, K)
        if (Up) {
          const int64_t pairs = d.C / 2;
          pack_pairs_in_rows(V + xi * vs, d.C, tiles, d.C, Vp);
          gemm_pairs(Vp, pairs, 1, tiles, pairs, Up + xi * pairs * d.K, d.K, d.K, M + xi * ms, d.K, false);
        } else {
          gemm(V + xi * vs, d.C, 1, tiles, d.C, U + xi * d.C * d.K, d.K, d.K, M + xi * ms, d.K, false);
        }
      }
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / t.TH, ty = r % t.TH;
        transform_outputs<W>(M + (r - r0) * t.TW * d.K, ms, t.TW, d.K, bias, relu, yr);
        store_rows(yr, t.TW, d.K, d.P, d.Q, kTile * ty, y + n * d.K * d.pq());
      }
    }
  });
}

// Up (α², in / 2, out) = U (α², in, out) in bf16, pairs along in: once per call, so that every
// block's products read the filters packed. Null for fp32 products.
template <class W>
const uint32_t* pack_filters(const float* U, int64_t in, int64_t out, bool bf16) {
  if (!bf16) return nullptr;
  uint32_t* Up = pair_scratch(kFilterPairs, W::xi * in / 2 * out);
  parallel_for(W::xi, in * out > 4096, [&](int64_t x_begin, int64_t x_end) {
    for (int64_t xi = x_begin; xi < x_end; ++xi)
      pack_pairs_across_rows(U + xi * in * out, out, in, out, Up + xi * in / 2 * out);
  });
  return Up;
}

template <class W>
void forward(const float* x, const float* w, const float* b, float* y, const ConvDims& d, Epilogue epilogue,
             bool bf16) {
  float* U = scratch(kFilters, W::xi * d.C * d.K);
  transform_filters<W>(w, d.K, d.C, false, U);
  forward_tiles<W>(x, nullptr, U, pack_filters<W>(U, d.C, d.K, bf16), b, y, d, epilogue == Epilogue::relu);
}

template <class W>
void backward(const float* x, const float* w, const float* y, const float* dy, float* dx, float* dw, float* db,
              const ConvDims& d, Epilogue epilogue, bool bf16) {
  const float* mask = epilogue == Epilogue::relu ? y : nullptr;  // g = dy [y > 0]
  if (dx) {
    // dx (N, C, H, W) = g (N, K, P, Q) convolved with the rotated filters, padded by r - 1 - pad.
    float* U = scratch(kFilters, W::xi * d.C * d.K);
    transform_filters<W>(w, d.K, d.C, true, U);
    forward_tiles<W>(dy, mask, U, pack_filters<W>(U, d.K, d.C, bf16), nullptr, dx,
                     conv_dims(d.N, d.K, d.P, d.Q, d.C, W::r, W::r, 1, W::r - 1 - d.pad), false);
  }
  if (!dw && !db) return;  // dL/dx alone (the caller takes the weight gradient elsewhere)
  // dw and db: each thread sums dU (α², C, K) and Σ g (K) over its blocks of tiles.
  const Tiling t = tiling<W>(d);
  const int64_t vs = t.block_tiles * d.C, ms = t.block_tiles * d.K, xn = d.C * d.H * d.W, gn = d.K * d.pq();
  const int64_t per_thread = W::xi * d.C * d.K + d.K;
  const int threads = static_cast<int>(std::min<int64_t>(thread_count(), t.blocks));
  float* accum = scratch(kAccum, threads * per_thread);
  int used = 1;  // threads that ran: fewer than asked when the pool is busy or we are nested
  parallel_run([&](int ti, int nt) {
    if (ti == 0) used = nt;
    float* dU = accum + ti * per_thread;
    float* sums = dU + W::xi * d.C * d.K;
    std::memset(dU, 0, static_cast<size_t>(per_thread) * sizeof(float));
    float* xr = scratch(kRows, W::alpha * t.Wt * d.C);
    float* V = scratch(kV, W::xi * vs);
    float* dM = scratch(kM, W::xi * ms);
    float* gr = scratch(kTileRows, kTile * kTile * t.TW * d.K);
    const int64_t tile_pairs = (t.block_tiles + 1) / 2;
    uint32_t* Vt = bf16 ? pair_scratch(kPairsA, tile_pairs * d.C) : nullptr;
    uint32_t* dMt = bf16 ? pair_scratch(kPairsB, tile_pairs * d.K) : nullptr;
    for (int64_t b = t.blocks * ti / nt; b < t.blocks * (ti + 1) / nt; ++b) {
      const int64_t r0 = b * t.block_rows, r1 = std::min(t.rows, r0 + t.block_rows), tiles = (r1 - r0) * t.TW;
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / t.TH, ty = r % t.TH;
        to_channels_last_rows(x + n * xn, nullptr, d.C, d.H, d.W, kTile * ty - d.pad, W::alpha, d.pad, t.Wt, xr,
                              nullptr);
        transform_inputs<W>(xr, t.Wt, t.TW, d.C, V + (r - r0) * t.TW * d.C, vs);
        to_channels_last_rows(dy + n * gn, mask ? mask + n * gn : nullptr, d.K, d.P, d.Q, kTile * ty, kTile, 0,
                              kTile * t.TW, gr, sums);
        transform_gradients<W>(gr, t.TW, d.K, dM + (r - r0) * t.TW * d.K, ms);
      }
      for (int xi = 0; xi < W::xi; ++xi) {  // dU_ξ (C, K) += V_ξ (tiles, C)ᵀ · dM_ξ (tiles, K)
        if (bf16) {  // the sum runs over the tiles: both operands paired along them
          pack_pairs_across_rows(V + xi * vs, d.C, tiles, d.C, Vt);
          pack_pairs_across_rows(dM + xi * ms, d.K, tiles, d.K, dMt);
          gemm_pairs(Vt, 1, d.C, d.C, (tiles + 1) / 2, dMt, d.K, d.K, dU + xi * d.C * d.K, d.K, true);
        } else {
          gemm(V + xi * vs, 1, d.C, d.C, tiles, dM + xi * ms, d.K, d.K, dU + xi * d.C * d.K, d.K, true);
        }
      }
    }
  }, threads);
  add_filter_gradients<W>(accum, used, per_thread, d.C, d.K, dw);
  if (db)
    for (int64_t k = 0; k < d.K; ++k)
      for (int ti = 0; ti < used; ++ti) db[k] += accum[ti * per_thread + W::xi * d.C * d.K + k];
}

}  // namespace

bool supported(const ConvDims& d) {
  static const bool cpu_ok = __builtin_cpu_supports("avx512f");
  const bool shape = d.R == d.S && (d.R == 3 || d.R == 5) && d.stride == 1 && d.pad <= d.R - 1;
  return cpu_ok && shape && d.C % kLanes == 0 && d.K % kLanes == 0 && d.C > 0 && d.K > 0 && d.N > 0 && d.P > 0 &&
         d.Q > 0;
}

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvDims& d, Epilogue epilogue,
                    bool bf16) {
  if (d.R == 5) return forward<Winograd<F4x5>>(x, w, b, y, d, epilogue, bf16);
  forward<Winograd<F4x3>>(x, w, b, y, d, epilogue, bf16);
}

void conv2d_backward(const float* x, const float* w, const float* y, const float* dy, float* dx, float* dw, float* db,
                     const ConvDims& d, Epilogue epilogue, bool bf16) {
  if (d.R == 5) return backward<Winograd<F4x5>>(x, w, y, dy, dx, dw, db, d, epilogue, bf16);
  backward<Winograd<F4x3>>(x, w, y, dy, dx, dw, db, d, epilogue, bf16);
}

}  // namespace kiln::cpu::winograd
