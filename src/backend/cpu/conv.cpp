#include "backend/cpu/conv.h"

#include <algorithm>
#include <cstring>

namespace kiln::cpu {

// Below this many elements touched, waking the thread pool costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

ConvDims conv_dims(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t stride,
                   int64_t pad) {
  return {N, C, H, W, K, R, S, stride, pad, (H + 2 * pad - R) / stride + 1, (W + 2 * pad - S) / stride + 1};
}

// The output columns q whose input column q*stride - pad + s lies inside [0, W): [lo, hi).
// Outside it the window reads padding.
static void valid_range(int64_t s, const ConvDims& d, int64_t extent, int64_t out, int64_t& lo, int64_t& hi) {
  auto ceil_div = [](int64_t a, int64_t b) { return a <= 0 ? int64_t{0} : (a + b - 1) / b; };
  lo = std::min(out, ceil_div(d.pad - s, d.stride));
  hi = std::min(out, ceil_div(extent + d.pad - s, d.stride));
  hi = std::max(hi, lo);
}

void im2col(const Real* x, Real* cols, const ConvDims& d) {
  const int64_t rows = d.crs(), NPQ = d.N * d.pq(), PQ = d.pq();
#pragma omp parallel for schedule(static) if (rows * NPQ > kParallelMin)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t c = row / (d.R * d.S), r = (row / d.S) % d.R, s = row % d.S;
    int64_t q0, q1;
    valid_range(s, d, d.W, d.Q, q0, q1);
    for (int64_t n = 0; n < d.N; ++n) {
      const Real* plane = x + (n * d.C + c) * d.H * d.W;
      Real* out = cols + row * NPQ + n * PQ;
      for (int64_t p = 0; p < d.P; ++p, out += d.Q) {
        const int64_t ih = p * d.stride - d.pad + r;
        if (ih < 0 || ih >= d.H) {
          std::fill(out, out + d.Q, Real(0));
          continue;
        }
        const Real* src = plane + ih * d.W;
        const int64_t off = s - d.pad;  // output column q reads input column q*stride + off
        std::fill(out, out + q0, Real(0));
        if (d.stride == 1) {
#pragma omp simd
          for (int64_t q = q0; q < q1; ++q) out[q] = src[q + off];
        } else {
          for (int64_t q = q0; q < q1; ++q) out[q] = src[q * d.stride + off];
        }
        std::fill(out + q1, out + d.Q, Real(0));
      }
    }
  }
}

// Parallel over (sample, channel) planes: every column row that writes into a plane belongs to
// that plane's channel, so no two threads add into the same pixel.
void col2im(const Real* cols, Real* dx, const ConvDims& d) {
  const int64_t NPQ = d.N * d.pq(), PQ = d.pq(), planes = d.N * d.C;
#pragma omp parallel for schedule(static) if (d.crs() * NPQ > kParallelMin)
  for (int64_t nc = 0; nc < planes; ++nc) {
    const int64_t n = nc / d.C, c = nc % d.C;
    Real* plane = dx + nc * d.H * d.W;
    for (int64_t r = 0; r < d.R; ++r)
      for (int64_t s = 0; s < d.S; ++s) {
        int64_t q0, q1;
        valid_range(s, d, d.W, d.Q, q0, q1);
        const Real* in = cols + ((c * d.R + r) * d.S + s) * NPQ + n * PQ;
        for (int64_t p = 0; p < d.P; ++p, in += d.Q) {
          const int64_t ih = p * d.stride - d.pad + r;
          if (ih < 0 || ih >= d.H) continue;
          Real* dst = plane + ih * d.W;
          const int64_t off = s - d.pad;
          if (d.stride == 1) {
#pragma omp simd
            for (int64_t q = q0; q < q1; ++q) dst[q + off] += in[q];
          } else {
            for (int64_t q = q0; q < q1; ++q) dst[q * d.stride + off] += in[q];
          }
        }
      }
  }
}

void cols_to_nchw(const Real* ymat, const Real* bias, Real* y, int64_t N, int64_t K, int64_t PQ) {
#pragma omp parallel for schedule(static) if (N * K * PQ > kParallelMin)
  for (int64_t nk = 0; nk < N * K; ++nk) {
    const int64_t n = nk / K, k = nk % K;
    const Real* src = ymat + k * N * PQ + n * PQ;
    Real* dst = y + nk * PQ;
    const Real b = bias ? bias[k] : Real(0);
#pragma omp simd
    for (int64_t i = 0; i < PQ; ++i) dst[i] = src[i] + b;
  }
}

void nchw_to_cols(const Real* dy, Real* dymat, int64_t N, int64_t K, int64_t PQ) {
#pragma omp parallel for schedule(static) if (N * K * PQ > kParallelMin)
  for (int64_t nk = 0; nk < N * K; ++nk) {
    const int64_t n = nk / K, k = nk % K;
    std::memcpy(dymat + k * N * PQ + n * PQ, dy + nk * PQ, static_cast<size_t>(PQ) * sizeof(Real));
  }
}

void add_channel_bias(Real* y, const Real* b, int64_t N, int64_t K, int64_t HW) {
#pragma omp parallel for schedule(static) if (N * K * HW > kParallelMin)
  for (int64_t nk = 0; nk < N * K; ++nk) {
    const Real bk = b[nk % K];
    Real* plane = y + nk * HW;
#pragma omp simd
    for (int64_t i = 0; i < HW; ++i) plane[i] += bk;
  }
}

// Each plane is summed in Real (vector lanes make it a short pairwise sum), the planes in double.
void accumulate_channel_sum(const Real* dy, Real* db, int64_t N, int64_t K, int64_t HW) {
#pragma omp parallel for schedule(static) if (N * K * HW > kParallelMin)
  for (int64_t k = 0; k < K; ++k) {
    double acc = 0;
    for (int64_t n = 0; n < N; ++n) {
      const Real* plane = dy + (n * K + k) * HW;
      Real s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < HW; ++i) s += plane[i];
      acc += s;
    }
    db[k] += static_cast<Real>(acc);
  }
}

void conv2d_forward_naive(const Real* x, const Real* w, const Real* b, Real* y, const ConvDims& d) {
  for (int64_t n = 0; n < d.N; ++n)
    for (int64_t k = 0; k < d.K; ++k)
      for (int64_t p = 0; p < d.P; ++p)
        for (int64_t q = 0; q < d.Q; ++q) {
          double acc = b ? b[k] : 0.0;
          for (int64_t c = 0; c < d.C; ++c)
            for (int64_t r = 0; r < d.R; ++r)
              for (int64_t s = 0; s < d.S; ++s) {
                const int64_t ih = p * d.stride - d.pad + r, iw = q * d.stride - d.pad + s;
                if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                acc += static_cast<double>(w[((k * d.C + c) * d.R + r) * d.S + s]) *
                       x[((n * d.C + c) * d.H + ih) * d.W + iw];
              }
          y[((n * d.K + k) * d.P + p) * d.Q + q] = static_cast<Real>(acc);
        }
}

// With y[n,k,p,q] = Σ_{c,r,s} w[k,c,r,s] x[n,c, p·st - pad + r, q·st - pad + s] + b[k]:
//   dw[k,c,r,s] = Σ_{n,p,q} dy[n,k,p,q] x[n,c, p·st - pad + r, q·st - pad + s]
//   db[k]       = Σ_{n,p,q} dy[n,k,p,q]
//   dx[n,c,h,v] = Σ_{k,r,s} dy[n,k,p,q] w[k,c,r,s]  over the (r, s) with h = p·st - pad + r and
//                 v = q·st - pad + s for some in-range output (p, q).
void conv2d_backward_naive(const Real* x, const Real* w, const Real* dy, Real* dx, Real* dw, Real* db,
                           const ConvDims& d) {
  for (int64_t k = 0; k < d.K; ++k) {
    for (int64_t c = 0; c < d.C; ++c)
      for (int64_t r = 0; r < d.R; ++r)
        for (int64_t s = 0; s < d.S; ++s) {
          double acc = 0;
          for (int64_t n = 0; n < d.N; ++n)
            for (int64_t p = 0; p < d.P; ++p)
              for (int64_t q = 0; q < d.Q; ++q) {
                const int64_t ih = p * d.stride - d.pad + r, iw = q * d.stride - d.pad + s;
                if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                acc += static_cast<double>(dy[((n * d.K + k) * d.P + p) * d.Q + q]) *
                       x[((n * d.C + c) * d.H + ih) * d.W + iw];
              }
          dw[((k * d.C + c) * d.R + r) * d.S + s] += static_cast<Real>(acc);
        }
    if (db) {
      double acc = 0;
      for (int64_t n = 0; n < d.N; ++n)
        for (int64_t i = 0; i < d.pq(); ++i) acc += dy[(n * d.K + k) * d.pq() + i];
      db[k] += static_cast<Real>(acc);
    }
  }
  if (!dx) return;
  for (int64_t n = 0; n < d.N; ++n)
    for (int64_t c = 0; c < d.C; ++c)
      for (int64_t h = 0; h < d.H; ++h)
        for (int64_t v = 0; v < d.W; ++v) {
          double acc = 0;
          for (int64_t r = 0; r < d.R; ++r) {
            const int64_t ph = h + d.pad - r;  // = p·stride
            if (ph < 0 || ph % d.stride != 0 || ph / d.stride >= d.P) continue;
            for (int64_t s = 0; s < d.S; ++s) {
              const int64_t qv = v + d.pad - s;
              if (qv < 0 || qv % d.stride != 0 || qv / d.stride >= d.Q) continue;
              for (int64_t k = 0; k < d.K; ++k)
                acc += static_cast<double>(dy[((n * d.K + k) * d.P + ph / d.stride) * d.Q + qv / d.stride]) *
                       w[((k * d.C + c) * d.R + r) * d.S + s];
            }
          }
          dx[((n * d.C + c) * d.H + h) * d.W + v] = static_cast<Real>(acc);
        }
}

}  // namespace kiln::cpu
