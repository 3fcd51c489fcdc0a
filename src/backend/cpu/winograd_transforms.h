#pragma once
// The transforms of Winograd F(4x4, 3x3) and F(4x4, 5x5) (conv_winograd.h): their matrices,
// and applying them to tiles of 16-lane registers with the zeros, ±1s and ±p pairs of the
// matrices resolved at compile time. Only conv_winograd.cpp includes this (AVX-512 code,
// compiled where the CPU check guards it).
#include <array>

#include "backend/cpu/avx512.h"

namespace kiln::cpu::winograd {

// F(4x4, r x r) from the interpolation points 0, ±1, ±2 (and ±1/2 for r = 5) and ∞ (Lavin &
// Gray; Cook-Toom): for a 1-D input d of α = r + 3 and a filter g of r, y_i = Σ_j g_j d_{i+j}
// (i < 4) is Aᵀ [(G g) ⊙ (Bᵀ d)]; in 2-D each transform is applied to the rows and to the
// columns. Aᵀ[i][j] = p_j^i, G[j][k] = p_j^k / Π_{l≠j} (p_j - p_l), and Bᵀ follows from
// the identity; the matrices were generated with exact fractions and checked on random integers.
template <int M, int L>
struct Matrix {
  static constexpr int rows = M, cols = L;
  float v[M][L];
};
template <int M, int L>
constexpr Matrix<L, M> transposed(const Matrix<M, L>& t) {
  Matrix<L, M> out{};
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < L; ++j) out.v[j][i] = t.v[i][j];
  return out;
}

struct F4x3 {
  static constexpr int r = 3;
  static constexpr Matrix<6, 6> Bt{{{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                     {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}}};
  static constexpr Matrix<6, 3> G{{{1.f / 4, 0, 0},
                                    {-1.f / 6, -1.f / 6, -1.f / 6},
                                    {-1.f / 6, 1.f / 6, -1.f / 6},
                                    {1.f / 24, 1.f / 12, 1.f / 6},
                                    {1.f / 24, -1.f / 12, 1.f / 6},
                                    {0, 0, 1}}};
  static constexpr Matrix<4, 6> At{{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}};
};

// The points of F(6x6, 3x3): its 21/4 and 17/4 in Bᵀ, and 1/90 in G, make it the least exact
// of the two (the bound in conv_pool_test.cpp).
struct F4x5 {
  static constexpr int r = 5;
  static constexpr Matrix<8, 8> Bt{{
      {1, 0, -21.f / 4, 0, 21.f / 4, 0, -1, 0},          {0, 1, 1, -17.f / 4, -17.f / 4, 1, 1, 0},
      {0, -1, 1, 17.f / 4, -17.f / 4, -1, 1, 0},         {0, 1.f / 2, 1.f / 4, -5.f / 2, -5.f / 4, 2, 1, 0},
      {0, -1.f / 2, 1.f / 4, 5.f / 2, -5.f / 4, -2, 1, 0}, {0, 2, 4, -5.f / 2, -5, 1.f / 2, 1, 0},
      {0, -2, 4, 5.f / 2, -5, -1.f / 2, 1, 0},           {0, -1, 0, 21.f / 4, 0, -21.f / 4, 0, 1}}};
  static constexpr Matrix<8, 5> G{{{1, 0, 0, 0, 0},
                                    {-2.f / 9, -2.f / 9, -2.f / 9, -2.f / 9, -2.f / 9},
                                    {-2.f / 9, 2.f / 9, -2.f / 9, 2.f / 9, -2.f / 9},
                                    {1.f / 90, 1.f / 45, 2.f / 45, 4.f / 45, 8.f / 45},
                                    {1.f / 90, -1.f / 45, 2.f / 45, -4.f / 45, 8.f / 45},
                                    {32.f / 45, 16.f / 45, 8.f / 45, 4.f / 45, 2.f / 45},
                                    {32.f / 45, -16.f / 45, 8.f / 45, -4.f / 45, 2.f / 45},
                                    {0, 0, 0, 0, 1}}};
  static constexpr Matrix<4, 8> At{{{1, 1, 1, 1, 1, 1, 1, 0},
                                     {0, 1, -1, 2, -2, 1.f / 2, -1.f / 2, 0},
                                     {0, 1, 1, 4, 4, 1.f / 4, 1.f / 4, 0},
                                     {0, 1, -1, 8, -8, 1.f / 8, -1.f / 8, 1}}};
};

constexpr int kTile = 4;  // outputs per tile side

// The sizes of F(4x4, r x r) and the transposes, for the adjoint (backward) transforms.
template <class F>
struct Winograd : F {
  static constexpr int alpha = kTile + F::r - 1;  // inputs per tile side
  static constexpr int xi = alpha * alpha;        // tile positions ξ: one GEMM each
  static constexpr int rr = F::r * F::r;
  static constexpr Matrix<alpha, kTile> A = transposed(F::At);
  static constexpr Matrix<F::r, alpha> Gt = transposed(F::G);
};

// Applying a transform T (M×L, one of the matrices above) to L registers of 16 lanes, inlined
// with T known so that its zeros drop out and ±1 become additions. The points come in pairs ±p,
// which the plan below finds in T and uses, halving the multiplications: where row i + 1 of T
// is row i with its odd columns negated (Bᵀ, A), the two outputs are e ± o, with e and o the
// sums over the even and over the odd columns; where column j + 1 is column j with its odd
// rows negated (Aᵀ), v_j ± v_{j+1} is formed once and each row takes one of the two.
// pair[i]: row i + 1 of t is row i with its odd columns negated (and row i is not itself the
// second of a pair).
template <int M, int L>
constexpr std::array<bool, M> mirrored_rows(const Matrix<M, L>& t) {
  std::array<bool, M> pair{};
  for (int i = 0; i + 1 < M; ++i) {
    bool mirrored = !(i > 0 && pair[i - 1]), odd = false;
    for (int j = 0; j < L; ++j) {
      mirrored = mirrored && t.v[i + 1][j] == (j % 2 ? -t.v[i][j] : t.v[i][j]);
      odd = odd || (j % 2 && t.v[i][j] != 0);
    }
    pair[i] = mirrored && odd;
  }
  return pair;
}

template <const auto& T>
struct Plan {
  static constexpr int M = T.rows, L = T.cols;
  static constexpr auto paired_rows = mirrored_rows(T);
  static constexpr bool by_rows = [] {
    for (bool p : paired_rows)
      if (p) return true;
    return false;
  }();
  static constexpr auto paired_cols = mirrored_rows(transposed(T));  // the rows of Tᵀ
};

// Σ k·x over the terms added, with no operation for a term whose k is 0.
struct Sum {
  __m512 v = _mm512_setzero_ps();
  bool any = false;
  [[gnu::always_inline]] void add(float k, __m512 x) {
    if (k == 0) return;
    const __m512 term = k == 1 ? x : k == -1 ? -x : _mm512_set1_ps(k) * x;
    v = any ? v + term : term;
    any = true;
  }
  [[gnu::always_inline]] __m512 get() const { return v; }
};

// out[i·os] = Σ_j T[i][j] · in[j·is].
template <const auto& T>
[[gnu::always_inline]] inline void apply(const __m512* in, int is, __m512* out, int os) {
  using P = Plan<T>;
  if constexpr (P::by_rows) {
    _Pragma("GCC unroll 8") for (int i = 0; i < P::M; ++i) {
      if (i > 0 && P::paired_rows[i - 1]) continue;  // done with row i - 1
      Sum even, odd;
      _Pragma("GCC unroll 8") for (int j = 0; j < P::L; j += 2) {
        even.add(T.v[i][j], in[j * is]);
        if (j + 1 < P::L) odd.add(T.v[i][j + 1], in[(j + 1) * is]);
      }
      if (P::paired_rows[i]) {
        out[i * os] = even.get() + odd.get();
        out[(i + 1) * os] = even.get() - odd.get();
      } else {
        out[i * os] = odd.any ? even.get() + odd.get() : even.get();
      }
    }
  } else {
    __m512 v[P::L];  // v_j, or v_j + v_{j+1} and v_j - v_{j+1} for a pair starting at j
    _Pragma("GCC unroll 8") for (int j = 0; j < P::L; ++j) {
      if (P::paired_cols[j]) {
        v[j] = in[j * is] + in[(j + 1) * is];
      } else if (j > 0 && P::paired_cols[j - 1]) {
        v[j] = in[(j - 1) * is] - in[j * is];
      } else {
        v[j] = in[j * is];
      }
    }
    _Pragma("GCC unroll 8") for (int i = 0; i < P::M; ++i) {
      Sum sum;
      _Pragma("GCC unroll 8") for (int j = 0; j < P::L; ++j) {
        if (P::paired_cols[j]) sum.add(T.v[i][j], v[j + i % 2]);
        else if (!(j > 0 && P::paired_cols[j - 1])) sum.add(T.v[i][j], v[j]);
      }
      out[i * os] = sum.get();
    }
  }
}

// out (M×M) = T · in · Tᵀ for in (L×L): every transform here. load(i, j) gives in[i][j] and
// store(i, j, v) takes out[i][j], so that the callers' layouts need no staging arrays.
template <const auto& T, class Load, class Store>
[[gnu::always_inline]] inline void sandwich(Load load, Store store) {
  constexpr int M = T.rows, L = T.cols;
  __m512 in[L * L], tmp[M * L];  // in, T · in
  _Pragma("GCC unroll 8") for (int i = 0; i < L; ++i)
    _Pragma("GCC unroll 8") for (int j = 0; j < L; ++j) in[i * L + j] = load(i, j);
  _Pragma("GCC unroll 8") for (int j = 0; j < L; ++j) apply<T>(in + j, L, tmp + j, L);
  _Pragma("GCC unroll 8") for (int i = 0; i < M; ++i) {
    __m512 row[M];
    apply<T>(tmp + i * L, 1, row, 1);
    _Pragma("GCC unroll 8") for (int j = 0; j < M; ++j) store(i, j, row[j]);
  }
}

}  // namespace kiln::cpu::winograd
