#pragma once
// The geometry of convolutions and pooling: one struct each, computed in one place and taken
// by value by every backend's kernels (host and device alike).
#include <cstdint>

#include "tensor/hd.h"

namespace kiln {

// Convolution (NCHW input x, KCRS weights w, no dilation, no groups):
//   y[n,k,p,q] = Σ_{c,r,s} w[k,c,r,s] · x[n, c, p·stride - pad + r, q·stride - pad + s]
//   P = (H + 2 pad - R) / stride + 1,  Q = (W + 2 pad - S) / stride + 1.
struct ConvDims {
  int64_t N, C, H, W;  // input
  int64_t K, R, S;     // output channels, kernel height and width
  int64_t stride, pad;
  int64_t P, Q;        // output height and width
  KILN_HD int64_t crs() const { return C * R * S; }
  KILN_HD int64_t pq() const { return P * Q; }
  // Whether the padded input holds at least one window (P, Q ≥ 1).
  KILN_HD bool valid() const { return H + 2 * pad >= R && W + 2 * pad >= S && P > 0 && Q > 0; }
};
// The one place the output size is computed: fills in P and Q from the rest.
KILN_HD ConvDims conv_dims(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t stride,
                           int64_t pad) {
  return {N, C, H, W, K, R, S, stride, pad, (H + 2 * pad - R) / stride + 1, (W + 2 * pad - S) / stride + 1};
}

// Pooling: k×k windows at `stride`, no padding: P = (H - k) / stride + 1, likewise Q.
struct PoolDims {
  int64_t N, C, H, W;
  int64_t k, stride;
  int64_t P, Q;
  KILN_HD int64_t planes() const { return N * C; }
  KILN_HD bool valid() const { return H >= k && W >= k; }
};
KILN_HD PoolDims pool_dims(int64_t N, int64_t C, int64_t H, int64_t W, int64_t k, int64_t stride) {
  return {N, C, H, W, k, stride, (H - k) / stride + 1, (W - k) / stride + 1};
}

// What a convolution's output goes through before it is stored (fused, saving a pass over
// memory): nothing, or ReLU (backward then masks dy by the stored output y > 0).
enum class Epilogue { none, relu };

}  // namespace kiln
