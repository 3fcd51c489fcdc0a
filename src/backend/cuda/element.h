#pragma once
// The per-element bodies of the CUDA kernels whose index arithmetic is easy to get wrong and
// that the CPU computes its own (vectorised) way: im2col and its adjoint, the reorders, the
// channel walk of batch norm. Each computes the value of one output element from its index,
// and the kernels are grid-stride loops that call them. They are __host__ __device__, so the
// tests run exactly this code on the host over every index and compare it with the CPU
// kernels, on machines without a GPU too. (The bodies that both backends run, pooling,
// dropout and the optimizer updates, are in backend/math/.) Plain C++17 without CUDA headers.
#include <math.h>

#include <cstdint>

#include "backend/dims.h"

namespace kiln::cuda {

// Entry i of the im2col columns of x (N, C, H, W) for the chunk's g.N samples:
//   per-sample layout (N, CRS, P, Q): i = ((n*CRS + row)*P + p)*Q + q
//   matrix layout     (CRS, N, P, Q): i = ((row*N + n)*P + p)*Q + q     (`matrix`)
// with row = (c*R + r)*S + s; the value is x[n, c, p*stride - pad + r, q*stride - pad + s], 0 in
// the padding. I is the index type (32 bits where the index space fits).
template <class I>
KILN_HD float im2col_at(const float* x, const ConvDims& g, I i, bool matrix) {
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
KILN_HD float col2im_at(const float* dcols, const ConvDims& g, I i) {
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

// The flat index of value j (0 <= j < N*S) of channel c in x (N, C, S).
template <class I>
KILN_HD int64_t channel_at(I j, I S, int64_t C, int64_t c) {
  const I n = j / S, i = j - n * S;
  return (static_cast<int64_t>(n) * C + c) * S + static_cast<int64_t>(i);
}

}  // namespace kiln::cuda
