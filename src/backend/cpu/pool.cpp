#include "backend/cpu/pool.h"

#include "backend/cpu/threads.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/pool_fast.h"

namespace kiln::cpu {

constexpr int64_t kParallelMin = 1 << 15;

// v replaces the running max when strictly greater (so ties keep the first), or when it is the
// first NaN (so a NaN input gives a NaN output, as in PyTorch).
static inline bool beats(Real v, Real best) { return v > best || (std::isnan(v) && !std::isnan(best)); }

void maxpool_forward(const Real* x, Real* y, uint8_t* argmax, const PoolDims& d) {
  if constexpr (sizeof(Real) == sizeof(float)) {
    if (fast::maxpool2x2_supported(d))
      return fast::maxpool2x2_forward(reinterpret_cast<const float*>(x), reinterpret_cast<float*>(y), argmax, d);
  }
  const int64_t HW = d.H * d.W, PQ = d.P * d.Q;
  parallel_for(d.planes(), d.planes() * HW > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      const Real* xp = x + pl * HW;
      for (int64_t p = 0; p < d.P; ++p)
        for (int64_t q = 0; q < d.Q; ++q) {
          const Real* win = xp + p * d.stride * d.W + q * d.stride;
          Real best = win[0];
          uint8_t at = 0;
          for (int64_t r = 0; r < d.k; ++r)
            for (int64_t s = 0; s < d.k; ++s)
              if (beats(win[r * d.W + s], best)) {
                best = win[r * d.W + s];
                at = static_cast<uint8_t>(r * d.k + s);
              }
          y[pl * PQ + p * d.Q + q] = best;
          argmax[pl * PQ + p * d.Q + q] = at;
        }
    }
  });
}

void maxpool_backward(const Real* dy, const uint8_t* argmax, Real* dx, const PoolDims& d) {
  if constexpr (sizeof(Real) == sizeof(float)) {
    if (fast::maxpool2x2_supported(d))
      return fast::maxpool2x2_backward(reinterpret_cast<const float*>(dy), argmax, reinterpret_cast<float*>(dx), d);
  }
  const int64_t HW = d.H * d.W, PQ = d.P * d.Q;
  parallel_for(d.planes(), d.planes() * HW > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      Real* dxp = dx + pl * HW;
      std::fill(dxp, dxp + HW, Real(0));
      for (int64_t p = 0; p < d.P; ++p)
        for (int64_t q = 0; q < d.Q; ++q) {
          const int64_t o = pl * PQ + p * d.Q + q, r = argmax[o] / d.k, s = argmax[o] % d.k;
          dxp[(p * d.stride + r) * d.W + q * d.stride + s] += dy[o];
        }
    }
  });
}

void avgpool_forward(const Real* x, Real* y, const PoolDims& d) {
  const int64_t HW = d.H * d.W, PQ = d.P * d.Q;
  const Real inv = Real(1) / static_cast<Real>(d.k * d.k);
  parallel_for(d.planes(), d.planes() * HW > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      const Real* xp = x + pl * HW;
      for (int64_t p = 0; p < d.P; ++p)
        for (int64_t q = 0; q < d.Q; ++q) {
          const Real* win = xp + p * d.stride * d.W + q * d.stride;
          Real acc = 0;
          for (int64_t r = 0; r < d.k; ++r)
            for (int64_t s = 0; s < d.k; ++s) acc += win[r * d.W + s];
          y[pl * PQ + p * d.Q + q] = acc * inv;
        }
    }
  });
}

void avgpool_backward(const Real* dy, Real* dx, const PoolDims& d) {
  const int64_t HW = d.H * d.W, PQ = d.P * d.Q;
  const Real inv = Real(1) / static_cast<Real>(d.k * d.k);
  parallel_for(d.planes(), d.planes() * HW > kParallelMin, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      Real* dxp = dx + pl * HW;
      std::fill(dxp, dxp + HW, Real(0));
      for (int64_t p = 0; p < d.P; ++p)
        for (int64_t q = 0; q < d.Q; ++q) {
          const Real g = dy[pl * PQ + p * d.Q + q] * inv;
          Real* win = dxp + p * d.stride * d.W + q * d.stride;
          for (int64_t r = 0; r < d.k; ++r)
            for (int64_t s = 0; s < d.k; ++s) win[r * d.W + s] += g;
        }
    }
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

// The windows that contain row h: p with p·stride ≤ h < p·stride + k.
static void covering(int64_t h, int64_t stride, int64_t k, int64_t P, int64_t& lo, int64_t& hi) {
  lo = h - k + 1 <= 0 ? 0 : (h - k + 1 + stride - 1) / stride;
  hi = std::min(P - 1, h / stride);
}

// dx[h,w] = Σ over the windows containing (h, w) whose first max is (h, w) of dy.
void maxpool_backward_naive(const Real* x, const Real* dy, Real* dx, const PoolDims& d) {
  for (int64_t pl = 0; pl < d.planes(); ++pl)
    for (int64_t h = 0; h < d.H; ++h)
      for (int64_t w = 0; w < d.W; ++w) {
        const int64_t i = (pl * d.H + h) * d.W + w;
        int64_t p0, p1, q0, q1;
        covering(h, d.stride, d.k, d.P, p0, p1);
        covering(w, d.stride, d.k, d.Q, q0, q1);
        double acc = 0;
        for (int64_t p = p0; p <= p1; ++p)
          for (int64_t q = q0; q <= q1; ++q)
            if (window_argmax(x, d, pl, p, q) == i) acc += dy[(pl * d.P + p) * d.Q + q];
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
        int64_t p0, p1, q0, q1;
        covering(h, d.stride, d.k, d.P, p0, p1);
        covering(w, d.stride, d.k, d.Q, q0, q1);
        double acc = 0;
        for (int64_t p = p0; p <= p1; ++p)
          for (int64_t q = q0; q <= q1; ++q) acc += dy[(pl * d.P + p) * d.Q + q];
        dx[(pl * d.H + h) * d.W + w] = static_cast<Real>(acc / static_cast<double>(d.k * d.k));
      }
}

}  // namespace kiln::cpu
