#pragma once
// The per-element math of pooling, written once: the CPU kernels (cpu/pool.cpp) and the CUDA
// kernels (cuda/pool.cu) loop over outputs or input pixels and call these. Forward computes
// one output from its window; backward GATHERS, for one input pixel, the gradient of every
// window that contains it, adding in window order (no atomics on a GPU, the same sums in
// the same order on every backend). Plain C++17, T float or double.
//   max:  y[pl,p,q] = max_{r,s < k} x[pl, p·st + r, q·st + s]; dL/dx routes dy to the argmax
//   avg:  y[pl,p,q] = (1/k²) Σ_{r,s < k} x[pl, p·st + r, q·st + s]; every pixel gets dy / k²
#include <cstdint>

#include "backend/dims.h"

namespace kiln::math {

// v replaces the running max when strictly greater (ties keep the first in row-major order),
// or when it is the first NaN (so a NaN input gives a NaN output, as in PyTorch).
template <class T>
KILN_HD bool pool_beats(T v, T best) {
  return v > best || (v != v && best == best);
}

// Output o = (pl·P + p)·Q + q of max pooling: the window max, and in *at its offset r·k + s.
template <class T>
KILN_HD T maxpool_at(const T* x, const PoolDims& d, int64_t o, int* at) {
  const int64_t q = o % d.Q, t = o / d.Q, p = t % d.P, pl = t / d.P;
  const T* win = x + (pl * d.H + p * d.stride) * d.W + q * d.stride;
  T best = win[0];
  int a = 0;
  for (int64_t r = 0; r < d.k; ++r)
    for (int64_t s = 0; s < d.k; ++s) {
      const T v = win[r * d.W + s];
      if (pool_beats(v, best)) {
        best = v;
        a = static_cast<int>(r * d.k + s);
      }
    }
  *at = a;
  return best;
}

// The windows along one axis that contain index h: p with p·stride ≤ h < p·stride + k and
// p < P, as [*lo, *hi] (empty when lo > hi).
KILN_HD void pool_covering(int64_t h, int64_t stride, int64_t k, int64_t P, int64_t* lo, int64_t* hi) {
  *lo = h - k + 1 <= 0 ? 0 : (h - k + 1 + stride - 1) / stride;
  *hi = h / stride < P - 1 ? h / stride : P - 1;
}

// Pixel i = (pl·H + h)·W + w of the max-pool input gradient: the dy of every window that
// contains it and whose argmax is it.
template <class T>
KILN_HD T maxpool_grad_at(const T* dy, const uint8_t* argmax, const PoolDims& d, int64_t i) {
  const int64_t w = i % d.W, t = i / d.W, h = t % d.H, pl = t / d.H;
  int64_t p0, p1, q0, q1;
  pool_covering(h, d.stride, d.k, d.P, &p0, &p1);
  pool_covering(w, d.stride, d.k, d.Q, &q0, &q1);
  T acc = 0;
  for (int64_t p = p0; p <= p1; ++p)
    for (int64_t q = q0; q <= q1; ++q) {
      const int64_t o = (pl * d.P + p) * d.Q + q;
      const int a = argmax[o];
      if (p * d.stride + a / d.k == h && q * d.stride + a % d.k == w) acc += dy[o];
    }
  return acc;
}

// Output o of average pooling: the window sum times inv = 1/k².
template <class T>
KILN_HD T avgpool_at(const T* x, const PoolDims& d, int64_t o, T inv) {
  const int64_t q = o % d.Q, t = o / d.Q, p = t % d.P, pl = t / d.P;
  const T* win = x + (pl * d.H + p * d.stride) * d.W + q * d.stride;
  T acc = 0;
  for (int64_t r = 0; r < d.k; ++r)
    for (int64_t s = 0; s < d.k; ++s) acc += win[r * d.W + s];
  return acc * inv;
}

// Pixel i of the average-pool input gradient: Σ over the windows containing it of dy·inv.
template <class T>
KILN_HD T avgpool_grad_at(const T* dy, const PoolDims& d, int64_t i, T inv) {
  const int64_t w = i % d.W, t = i / d.W, h = t % d.H, pl = t / d.H;
  int64_t p0, p1, q0, q1;
  pool_covering(h, d.stride, d.k, d.P, &p0, &p1);
  pool_covering(w, d.stride, d.k, d.Q, &q0, &q1);
  T acc = 0;
  for (int64_t p = p0; p <= p1; ++p)
    for (int64_t q = q0; q <= q1; ++q) acc += dy[(pl * d.P + p) * d.Q + q] * inv;
  return acc;
}

}  // namespace kiln::math
