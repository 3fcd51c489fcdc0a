#pragma once
// The per-element bodies of the CUDA kernels whose index arithmetic is easy to get wrong
// (im2col and its adjoint, the reorders, pooling, the optimizer updates): each computes the
// value of one output element from its index, and the kernels are grid-stride loops that call
// them. They are __host__ __device__, so tests/backend_ops_test.cpp runs exactly this code on
// the host over every index and compares it with the CPU kernels, on machines without a GPU
// too. Plain C++17 without CUDA headers.
#include <math.h>

#include <cstdint>

#include "backend/dims.h"
#include "backend/update_rules.h"
#include "tensor/hash.h"

namespace kiln::cuda {

// ConvDims and PoolDims, as plain structs the kernels take by value.
struct ConvGeom {
  int64_t N, C, H, W, K, R, S, stride, pad, P, Q;
};
struct PoolGeom {
  int64_t planes, H, W, k, stride, P, Q;
};

inline ConvGeom conv_geom(const ConvDims& d) { return {d.N, d.C, d.H, d.W, d.K, d.R, d.S, d.stride, d.pad, d.P, d.Q}; }
inline PoolGeom pool_geom(const PoolDims& d) { return {d.N * d.C, d.H, d.W, d.k, d.stride, d.P, d.Q}; }

// Entry i of the im2col columns of x (N, C, H, W) for the chunk's g.N samples:
//   per-sample layout (N, CRS, P, Q): i = ((n*CRS + row)*P + p)*Q + q
//   matrix layout     (CRS, N, P, Q): i = ((row*N + n)*P + p)*Q + q     (`matrix`)
// with row = (c*R + r)*S + s; the value is x[n, c, p*stride - pad + r, q*stride - pad + s], 0 in
// the padding. I is the index type (32 bits where the index space fits).
template <class I>
KILN_HD float im2col_at(const float* x, const ConvGeom& g, I i, bool matrix) {
  const I CRS = static_cast<I>(g.C * g.R * g.S), N = static_cast<I>(g.N), P = static_cast<I>(g.P),
          Q = static_cast<I>(g.Q), R = static_cast<I>(g.R), S = static_cast<I>(g.S);
  const I q = i % Q, t = i / Q, p = t % P, u = t / P;
  const I n = matrix ? u % N : u / CRS;
  const I row = matrix ? u / N : u % CRS;
  const I c = row / (R * S), r = (row / S) % R, s = row % S;
  // Signed 64-bit: the window may start in the padding.
  const int64_t ih = static_cast<int64_t>(p) * g.stride - g.pad + static_cast<int64_t>(r);
  const int64_t iw = static_cast<int64_t>(q) * g.stride - g.pad + static_cast<int64_t>(s);
  if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return 0.0f;
  return x[((static_cast<int64_t>(n) * g.C + static_cast<int64_t>(c)) * g.H + ih) * g.W + iw];
}

// Pixel i = ((n*C + c)*H + h)*W + w of dx = the adjoint of im2col (matrix layout) applied to
// dcols (CRS, N*P*Q): the sum, over the taps (r, s) whose window position
// (p, q) = ((h + pad - r) / stride, (w + pad - s) / stride) is whole and in range, of
// dcols[(c*R + r)*S + s][n*PQ + p*Q + q]; taps in (r, s) order.
template <class I>
KILN_HD float col2im_at(const float* dcols, const ConvGeom& g, I i) {
  const I W = static_cast<I>(g.W), H = static_cast<I>(g.H), C = static_cast<I>(g.C);
  const I w = i % W, t = i / W, h = t % H, u = t / H, c = u % C, n = u / C;
  const int64_t PQ = g.P * g.Q, NPQ = g.N * PQ;
  float acc = 0;
  for (int64_t r = 0; r < g.R; ++r) {
    const int64_t ph = static_cast<int64_t>(h) + g.pad - r;  // = p * stride
    if (ph < 0 || ph % g.stride != 0 || ph / g.stride >= g.P) continue;
    const int64_t p = ph / g.stride;
    for (int64_t s = 0; s < g.S; ++s) {
      const int64_t qw = static_cast<int64_t>(w) + g.pad - s;
      if (qw < 0 || qw % g.stride != 0 || qw / g.stride >= g.Q) continue;
      const int64_t q = qw / g.stride;
      acc += dcols[((static_cast<int64_t>(c) * g.R + r) * g.S + s) * NPQ + static_cast<int64_t>(n) * PQ + p * g.Q + q];
    }
  }
  return acc;
}

// Entry i = (k*N + n)*PQ + pq of dymat (K, N*PQ): dy[n, k, pq], times [y > 0] when y is given.
template <class I>
KILN_HD float nchw_to_rows_at(const float* dy, const float* y, I N, I K, I PQ, I i) {
  const I pq = i % PQ, t = i / PQ, n = t % N, k = t / N;
  const int64_t src = (static_cast<int64_t>(n) * K + k) * PQ + pq;
  const float g = dy[src];
  return y && !(y[src] > 0) ? 0.0f : g;
}

// v replaces the running max when strictly greater (ties keep the first in row-major order),
// or when it is the first NaN (a NaN input gives a NaN output), as cpu/pool.cpp's beats().
KILN_HD bool pool_beats(float v, float best) { return v > best || (v != v && best == best); }

// Output o = (pl*P + p)*Q + q of max pooling: the window max, and in *at its offset r*k + s.
KILN_HD float maxpool_at(const float* x, const PoolGeom& g, int64_t o, int* at) {
  const int64_t q = o % g.Q, t = o / g.Q, p = t % g.P, pl = t / g.P;
  const float* win = x + (pl * g.H + p * g.stride) * g.W + q * g.stride;
  float best = win[0];
  int a = 0;
  for (int64_t r = 0; r < g.k; ++r)
    for (int64_t s = 0; s < g.k; ++s) {
      const float v = win[r * g.W + s];
      if (pool_beats(v, best)) {
        best = v;
        a = static_cast<int>(r * g.k + s);
      }
    }
  *at = a;
  return best;
}

// The windows along one axis that contain index h: p with p*stride <= h < p*stride + k and
// p < P, as [*lo, *hi] (empty when lo > hi); cpu/pool.cpp's covering().
KILN_HD void pool_covering(int64_t h, int64_t stride, int64_t k, int64_t P, int64_t* lo, int64_t* hi) {
  *lo = h - k + 1 <= 0 ? 0 : (h - k + 1 + stride - 1) / stride;
  *hi = h / stride < P - 1 ? h / stride : P - 1;
}

// Pixel i = (pl*H + h)*W + w of the max-pool input gradient: the dy of every window that
// contains it and whose argmax is it, added in window order (the order the CPU scatters in).
KILN_HD float maxpool_grad_at(const float* dy, const uint8_t* argmax, const PoolGeom& g, int64_t i) {
  const int64_t w = i % g.W, t = i / g.W, h = t % g.H, pl = t / g.H;
  int64_t p0, p1, q0, q1;
  pool_covering(h, g.stride, g.k, g.P, &p0, &p1);
  pool_covering(w, g.stride, g.k, g.Q, &q0, &q1);
  float acc = 0;
  for (int64_t p = p0; p <= p1; ++p)
    for (int64_t q = q0; q <= q1; ++q) {
      const int64_t o = (pl * g.P + p) * g.Q + q;
      const int a = argmax[o];
      if (p * g.stride + a / g.k == h && q * g.stride + a % g.k == w) acc += dy[o];
    }
  return acc;
}

// Output o of average pooling: the window sum times inv = 1/k².
KILN_HD float avgpool_at(const float* x, const PoolGeom& g, int64_t o, float inv) {
  const int64_t q = o % g.Q, t = o / g.Q, p = t % g.P, pl = t / g.P;
  const float* win = x + (pl * g.H + p * g.stride) * g.W + q * g.stride;
  float acc = 0;
  for (int64_t r = 0; r < g.k; ++r)
    for (int64_t s = 0; s < g.k; ++s) acc += win[r * g.W + s];
  return acc * inv;
}

// Pixel i of the average-pool input gradient: Σ over the windows containing it of dy·inv.
KILN_HD float avgpool_grad_at(const float* dy, const PoolGeom& g, int64_t i, float inv) {
  const int64_t w = i % g.W, t = i / g.W, h = t % g.H, pl = t / g.H;
  int64_t p0, p1, q0, q1;
  pool_covering(h, g.stride, g.k, g.P, &p0, &p1);
  pool_covering(w, g.stride, g.k, g.Q, &q0, &q1);
  float acc = 0;
  for (int64_t p = p0; p <= p1; ++p)
    for (int64_t q = q0; q <= q1; ++q) acc += dy[(pl * g.P + p) * g.Q + q] * inv;
  return acc;
}

// The flat index of value j (0 <= j < N*S) of channel c in x (N, C, S).
template <class I>
KILN_HD int64_t channel_at(I j, I S, int64_t C, int64_t c) {
  const I n = j / S, i = j - n * S;
  return (static_cast<int64_t>(n) * C + c) * S + static_cast<int64_t>(i);
}

// Element i of the dropout scale: [u_i >= p] · keep, u_i = hash_uniform(seed, stream, (step << 32) ^ i).
KILN_HD float dropout_scale_at(uint64_t seed, uint64_t stream, int64_t step, double p, float keep, int64_t i) {
  const uint64_t counter = (static_cast<uint64_t>(step) << 32) ^ static_cast<uint64_t>(i);
  return hash_uniform(seed, stream, counter) >= p ? keep : 0.0f;
}

// One parameter's SGD update (optim/optimizer.h), in float as on the CPU.
struct SgdArgs {
  float lr, wd, mu, damp;
  bool coupled, decoupled, momentum, nesterov;
};
// The kernel arguments of an update, computed on the host as cpu/optim.cpp computes them.
inline SgdArgs sgd_args(const SgdUpdate& u) {
  SgdArgs a;
  a.lr = u.lr;
  a.wd = u.weight_decay;
  a.mu = u.momentum;
  a.damp = u.average ? 1.0f - u.momentum : 1.0f;
  a.coupled = u.weight_decay != 0 && !u.decoupled;
  a.decoupled = u.weight_decay != 0 && u.decoupled;
  a.momentum = u.momentum != 0;
  a.nesterov = u.nesterov;
  return a;
}
KILN_HD void sgd_at(float* theta, const float* g, const float* mask, float* v, int64_t i, const SgdArgs& a) {
  float t = theta[i], gi = g[i];
  if (a.coupled) gi += a.wd * mask[i] * t;
  if (a.decoupled) t -= a.lr * a.wd * mask[i] * t;
  float d = gi;
  if (a.momentum) {
    const float vi = a.mu * v[i] + a.damp * gi;
    v[i] = vi;
    d = a.nesterov ? a.damp * gi + a.mu * vi : vi;
  }
  theta[i] = t - a.lr * d;
}

// One parameter's Adam update: θ -= lr m̂ / (√ŝ + ε), m̂ = m / (1 - β1ᵗ), √ŝ = √s / √(1 - β2ᵗ).
struct AdamArgs {
  float lr, wd, b1, b2, eps, inv_bias1, inv_sqrt_bias2;
  bool coupled, decoupled;
};
inline AdamArgs adam_args(const AdamUpdate& u) {
  AdamArgs a;
  a.lr = u.lr;
  a.wd = u.weight_decay;
  a.b1 = u.beta1;
  a.b2 = u.beta2;
  a.eps = u.eps;
  a.inv_bias1 = 1.0f / u.bias1;
  a.inv_sqrt_bias2 = 1.0f / sqrtf(u.bias2);
  a.coupled = u.weight_decay != 0 && !u.decoupled;
  a.decoupled = u.weight_decay != 0 && u.decoupled;
  return a;
}
KILN_HD void adam_at(float* theta, const float* g, const float* mask, float* m, float* s, int64_t i, const AdamArgs& a) {
  float t = theta[i], gi = g[i];
  if (a.coupled) gi += a.wd * mask[i] * t;
  if (a.decoupled) t -= a.lr * a.wd * mask[i] * t;
  const float mi = a.b1 * m[i] + (1.0f - a.b1) * gi;
  const float si = a.b2 * s[i] + (1.0f - a.b2) * gi * gi;
  m[i] = mi;
  s[i] = si;
  theta[i] = t - a.lr * (mi * a.inv_bias1) / (sqrtf(si) * a.inv_sqrt_bias2 + a.eps);
}

}  // namespace kiln::cuda
