#include "backend/cpu/pool.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/pool_fast.h"
#include "backend/cpu/threads.h"
#include "backend/math/pool.h"

namespace kiln::cpu {

constexpr int64_t kParallelMin = 1 << 15;

// The generic paths loop over outputs (forward) or input pixels (backward) and compute each
// with the per-element math every backend shares (math/pool.h); 2x2 windows at stride 2, the
// shipped nets' pooling, take the AVX-512 kernels of pool_fast.h.
void maxpool_forward(const Real* x, Real* y, uint8_t* argmax, const PoolDims& d) {
  if constexpr (sizeof(Real) == sizeof(float)) {
    if (fast::maxpool2x2_supported(d))
      return fast::maxpool2x2_forward(reinterpret_cast<const float*>(x), reinterpret_cast<float*>(y), argmax, d);
  }
  const int64_t PQ = d.P * d.Q;
  parallel_for(d.planes(), d.planes() * d.H * d.W > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t o = pl_begin * PQ; o < pl_end * PQ; ++o) {
      int at = 0;
      y[o] = math::maxpool_at(x, d, o, &at);
      argmax[o] = static_cast<uint8_t>(at);
    }
  });
}

void maxpool_backward(const Real* dy, const uint8_t* argmax, Real* dx, const PoolDims& d) {
  if constexpr (sizeof(Real) == sizeof(float)) {
    if (fast::maxpool2x2_supported(d))
      return fast::maxpool2x2_backward(reinterpret_cast<const float*>(dy), argmax, reinterpret_cast<float*>(dx), d);
  }
  const int64_t HW = d.H * d.W;
  parallel_for(d.planes(), d.planes() * HW > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t i = pl_begin * HW; i < pl_end * HW; ++i) dx[i] = math::maxpool_grad_at(dy, argmax, d, i);
  });
}

void avgpool_forward(const Real* x, Real* y, const PoolDims& d) {
  const int64_t PQ = d.P * d.Q;
  const Real inv = Real(1) / static_cast<Real>(d.k * d.k);
  parallel_for(d.planes(), d.planes() * d.H * d.W > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t o = pl_begin * PQ; o < pl_end * PQ; ++o) y[o] = math::avgpool_at(x, d, o, inv);
  });
}

void avgpool_backward(const Real* dy, Real* dx, const PoolDims& d) {
  const int64_t HW = d.H * d.W;
  const Real inv = Real(1) / static_cast<Real>(d.k * d.k);
  parallel_for(d.planes(), d.planes() * HW > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t i = pl_begin * HW; i < pl_end * HW; ++i) dx[i] = math::avgpool_grad_at(dy, d, i, inv);
  });
}

void global_avgpool_forward(const Real* x, Real* y, int64_t planes, int64_t HW) {
  const Real inv = Real(1) / static_cast<Real>(HW);
  parallel_for(planes, planes * HW > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      const Real* xp = x + pl * HW;
      Real acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < HW; ++i) acc += xp[i];
      y[pl] = acc * inv;
    }
  });
}

void global_avgpool_backward(const Real* dy, Real* dx, int64_t planes, int64_t HW) {
  const Real inv = Real(1) / static_cast<Real>(HW);
  parallel_for(planes, planes * HW > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      const Real g = dy[pl] * inv;
      std::fill(dx + pl * HW, dx + (pl + 1) * HW, g);
    }
  });
}

// ---- naive references: the definitions, written out independently of math/pool.h ----

// The first max wins ties; a NaN beats everything but an earlier NaN.
static bool beats(Real v, Real best) { return v > best || (std::isnan(v) && !std::isnan(best)); }

// The index in x of the first max of window (pl, p, q).
static int64_t window_argmax(const Real* x, const PoolDims& d, int64_t pl, int64_t p, int64_t q) {
  int64_t at = -1;
  for (int64_t h = p * d.stride; h < p * d.stride + d.k; ++h)
    for (int64_t w = q * d.stride; w < q * d.stride + d.k; ++w) {
      const int64_t i = (pl * d.H + h) * d.W + w;
      if (at < 0 || beats(x[i], x[at])) at = i;
    }
  return at;
}

void maxpool_forward_naive(const Real* x, Real* y, const PoolDims& d) {
  for (int64_t pl = 0; pl < d.planes(); ++pl)
    for (int64_t p = 0; p < d.P; ++p)
      for (int64_t q = 0; q < d.Q; ++q) y[(pl * d.P + p) * d.Q + q] = x[window_argmax(x, d, pl, p, q)];
}

// Whether window (p, q) contains pixel (h, w).
static bool contains(const PoolDims& d, int64_t p, int64_t q, int64_t h, int64_t w) {
  return p * d.stride <= h && h < p * d.stride + d.k && q * d.stride <= w && w < q * d.stride + d.k;
}

// dx[h,w] = Σ over the windows containing (h, w) whose first max is (h, w) of dy: every
// window is visited for every pixel.
void maxpool_backward_naive(const Real* x, const Real* dy, Real* dx, const PoolDims& d) {
  for (int64_t pl = 0; pl < d.planes(); ++pl)
    for (int64_t h = 0; h < d.H; ++h)
      for (int64_t w = 0; w < d.W; ++w) {
        const int64_t i = (pl * d.H + h) * d.W + w;
        double acc = 0;
        for (int64_t p = 0; p < d.P; ++p)
          for (int64_t q = 0; q < d.Q; ++q)
            if (contains(d, p, q, h, w) && window_argmax(x, d, pl, p, q) == i) acc += dy[(pl * d.P + p) * d.Q + q];
        dx[i] = static_cast<Real>(acc);
      }
}

void avgpool_forward_naive(const Real* x, Real* y, const PoolDims& d) {
  for (int64_t pl = 0; pl < d.planes(); ++pl)
    for (int64_t p = 0; p < d.P; ++p)
      for (int64_t q = 0; q < d.Q; ++q) {
        double acc = 0;
        for (int64_t r = 0; r < d.k; ++r)
          for (int64_t s = 0; s < d.k; ++s) acc += x[(pl * d.H + p * d.stride + r) * d.W + q * d.stride + s];
        y[(pl * d.P + p) * d.Q + q] = static_cast<Real>(acc / static_cast<double>(d.k * d.k));
      }
}

void avgpool_backward_naive(const Real* dy, Real* dx, const PoolDims& d) {
  for (int64_t pl = 0; pl < d.planes(); ++pl)
    for (int64_t h = 0; h < d.H; ++h)
      for (int64_t w = 0; w < d.W; ++w) {
        double acc = 0;
        for (int64_t p = 0; p < d.P; ++p)
          for (int64_t q = 0; q < d.Q; ++q)
            if (contains(d, p, q, h, w)) acc += dy[(pl * d.P + p) * d.Q + q];
        dx[(pl * d.H + h) * d.W + w] = static_cast<Real>(acc / static_cast<double>(d.k * d.k));
      }
}

}  // namespace kiln::cpu
