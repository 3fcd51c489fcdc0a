#include "backend/cpu/conv.h"

#include "backend/cpu/threads.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/cpu/activation.h"
#include "backend/cpu/conv_direct.h"
#include "backend/cpu/conv_winograd.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/gemm_bf16.h"
#include "backend/cpu/scratch.h"

namespace kiln::cpu {

// Below this many elements touched, waking the thread pool costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

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
  parallel_for(rows, rows * NPQ > kParallelMin, [&](int64_t row_begin, int64_t row_end) {
    for (int64_t row = row_begin; row < row_end; ++row) {
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
  });
}

// Parallel over (sample, channel) planes: every column row that writes into a plane belongs to
// that plane's channel, so no two threads add into the same pixel.
void col2im(const Real* cols, Real* dx, const ConvDims& d) {
  const int64_t NPQ = d.N * d.pq(), PQ = d.pq(), planes = d.N * d.C;
  parallel_for(planes, d.crs() * NPQ > kParallelMin, [&](int64_t nc_begin, int64_t nc_end) {
    for (int64_t nc = nc_begin; nc < nc_end; ++nc) {
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
  });
}

void cols_to_nchw(const Real* ymat, const Real* bias, Real* y, int64_t N, int64_t K, int64_t PQ) {
  parallel_for(N * K, N * K * PQ > kParallelMin, [&](int64_t nk_begin, int64_t nk_end) {
    for (int64_t nk = nk_begin; nk < nk_end; ++nk) {
      const int64_t n = nk / K, k = nk % K;
      const Real* src = ymat + k * N * PQ + n * PQ;
      Real* dst = y + nk * PQ;
      const Real b = bias ? bias[k] : Real(0);
#pragma omp simd
      for (int64_t i = 0; i < PQ; ++i) dst[i] = src[i] + b;
    }
  });
}

void nchw_to_cols(const Real* dy, Real* dymat, int64_t N, int64_t K, int64_t PQ) {
  parallel_for(N * K, N * K * PQ > kParallelMin, [&](int64_t nk_begin, int64_t nk_end) {
    for (int64_t nk = nk_begin; nk < nk_end; ++nk) {
      const int64_t n = nk / K, k = nk % K;
      std::memcpy(dymat + k * N * PQ + n * PQ, dy + nk * PQ, static_cast<size_t>(PQ) * sizeof(Real));
    }
  });
}

void add_channel_bias(Real* y, const Real* b, int64_t N, int64_t K, int64_t HW) {
  parallel_for(N * K, N * K * HW > kParallelMin, [&](int64_t nk_begin, int64_t nk_end) {
    for (int64_t nk = nk_begin; nk < nk_end; ++nk) {
      const Real bk = b[nk % K];
      Real* plane = y + nk * HW;
#pragma omp simd
      for (int64_t i = 0; i < HW; ++i) plane[i] += bk;
    }
  });
}

// Each plane is summed in Real (vector lanes make it a short pairwise sum), the planes in double.
void accumulate_channel_sum(const Real* dy, Real* db, int64_t N, int64_t K, int64_t HW) {
  parallel_for(K, N * K * HW > kParallelMin, [&](int64_t k_begin, int64_t k_end) {
    for (int64_t k = k_begin; k < k_end; ++k) {
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
  });
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

namespace kiln::cpu {

namespace {

// Scratch memory for the lowering, kept between calls so the steady state allocates nothing.
Real* workspace(int64_t n) {
  static thread_local std::vector<Real> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

// Samples per chunk: as many as keep the columns and the GEMM output within kChunkBytes.
int64_t g_chunk_bytes = int64_t{32} << 20;
int64_t chunk_samples(const ConvDims& d) {
  const int64_t per_sample = (d.crs() + d.K) * d.pq() * static_cast<int64_t>(sizeof(Real));
  return std::clamp<int64_t>(g_chunk_bytes / per_sample, 1, std::max<int64_t>(d.N, 1));
}

ConvPath g_path = ConvPath::automatic;
bool g_exact_dw = false;

// The fast kernels are float only; in the double build (gradient checks) these casts sit in
// branches that fast_path() never takes.
const float* f32(const Real* p) { return reinterpret_cast<const float*>(p); }
float* f32(Real* p) { return reinterpret_cast<float*>(p); }

// The fast kernel for d under the current setting, or none (the lowering).
enum class Fast { none, direct, winograd };
Fast fast_path(const ConvDims& d) {
  if constexpr (sizeof(Real) != sizeof(float)) return Fast::none;
  const bool any = g_path == ConvPath::automatic;
  // Under bf16 (which set_gemm_bf16 allows only where bf16_supported()) every product has bf16
  // inputs and fp32 sums: the Winograd kernels with bf16 products (conv_winograd.h) where
  // they apply, at any width (not measured against the lowering at 16 channels: the VGG net's
  // 1.14x in docs/bf16-speed.md is for the whole net); else the direct kernels on operands
  // rounded to bf16 (Rounded below) where they apply; else the lowering to the bf16 GEMM.
  if (gemm_bf16_enabled()) {
    if ((any || g_path == ConvPath::winograd) && winograd::supported(d)) return Fast::winograd;
    return (any || g_path == ConvPath::direct) && direct::supported(d) ? Fast::direct : Fast::none;
  }
  // Measured here: the Winograd kernels run the VGG net's layers (32-256 channels) 2-5x as fast
  // as the direct kernels, and only as fast at 16 channels each way, where those are tuned; the
  // 5x5 ones, which save more, run the seed CNNs' 16 -> 16 layers 1.2-1.5x as fast as the
  // direct kernels (bench/layers_bench.cpp).
  const bool wide = d.R == 5 ? d.C >= 16 && d.K >= 16 : d.C >= 32 && d.K >= 32;
  if ((g_path == ConvPath::winograd || (any && wide)) && winograd::supported(d)) return Fast::winograd;
  if ((any || g_path == ConvPath::direct) && direct::supported(d)) return Fast::direct;
  return Fast::none;
}

// The direct kernels under bf16: their operands rounded to bf16 (ties to even, subnormals
// flushed, as vcvtneps2bf16 rounds for the bf16 GEMM), kept in fp32. A product of two bf16
// values is exact in fp32 and the kernels sum in fp32, so this is what the bf16 GEMM of the
// lowering computes, up to the order of the sums, at the direct kernels' speed: the layers
// they take (few channels: the 3-channel first layers) have too few products per input for
// the bf16 GEMM to gain on them, and lowering them costs im2col and packing (half of the seed
// CIFAR CNN's bf16 step, docs/bf16-speed.md). Per-thread copies, kept between calls.
struct Rounded {
  enum Slot { kX, kW, kDy, kSlots };
  static const float* copy(Slot slot, const float* v, int64_t n) {
    constexpr int64_t kBlock = 4096;
    float* out = thread_scratch<Rounded, kSlots>(slot, n);
    parallel_for((n + kBlock - 1) / kBlock, n >= kParallelMin, [&](int64_t b0, int64_t b1) {
      const int64_t i0 = b0 * kBlock;
      round_to_bf16(v + i0, out + i0, std::min(n, b1 * kBlock) - i0);
    });
    return out;
  }
};

// db[k] += Σ_{n,p,q} g[n,k,p,q], g = dy masked by y > 0 under a fused ReLU: 16 float partial
// sums per plane (independent lanes, so the compiler vectorises them), added up in double.
void add_bias_gradient(const float* dy, const float* y, bool relu, float* db, const ConvDims& d) {
  const int64_t PQ = d.pq(), body = PQ / 16 * 16;
  parallel_for(d.K, d.N * d.K * PQ >= kParallelMin, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      double s = 0;
      for (int64_t n = 0; n < d.N; ++n) {
        const float* g = dy + (n * d.K + k) * PQ;
        const float* yk = relu ? y + (n * d.K + k) * PQ : nullptr;
        float lanes[16] = {};
        for (int64_t i = 0; i < body; i += 16)
          for (int l = 0; l < 16; ++l) lanes[l] += relu && !(yk[i + l] > 0) ? 0.f : g[i + l];
        for (int64_t i = body; i < PQ; ++i) s += relu && !(yk[i] > 0) ? 0.f : g[i];
        for (float v : lanes) s += v;
      }
      db[k] += static_cast<float>(s);
    }
  });
}

void direct_forward(const float* x, const float* w, const float* b, float* y, const ConvDims& d, Epilogue epilogue) {
  if (gemm_bf16_enabled()) {
    x = Rounded::copy(Rounded::kX, x, d.N * d.C * d.H * d.W);
    w = Rounded::copy(Rounded::kW, w, d.K * d.crs());
  }
  direct::conv2d_forward(x, w, b, y, d, epilogue);
}

// dL/db is summed from dy as it is (the bias is no product's input), the rest from the
// rounded dy, x and w.
void direct_backward(const float* x, const float* w, const float* y, const float* dy, float* dx, float* dw, float* db,
                     const ConvDims& d, Epilogue epilogue) {
  if (!gemm_bf16_enabled()) return direct::conv2d_backward(x, w, y, dy, dx, dw, db, d, epilogue);
  if (db) add_bias_gradient(dy, y, epilogue == Epilogue::relu, db, d);
  const float* dyr = Rounded::copy(Rounded::kDy, dy, d.N * d.K * d.pq());
  const float* xr = dw ? Rounded::copy(Rounded::kX, x, d.N * d.C * d.H * d.W) : x;
  const float* wr = dx ? Rounded::copy(Rounded::kW, w, d.K * d.crs()) : w;
  direct::conv2d_backward(xr, wr, y, dyr, dx, dw, nullptr, d, epilogue);
}

}  // namespace

int64_t set_conv_chunk_bytes(int64_t bytes) {
  std::swap(g_chunk_bytes, bytes);
  return bytes;
}

bool set_exact_weight_gradients(bool exact) {
  std::swap(g_exact_dw, exact);
  return exact;
}

ConvPath set_conv_path(ConvPath path) {
  std::swap(g_path, path);
  return path;
}

void conv2d_forward(const Real* x, const Real* w, const Real* b, Real* y, const ConvDims& d, Epilogue epilogue) {
  if constexpr (sizeof(Real) == sizeof(float)) {
    switch (fast_path(d)) {
      case Fast::winograd:
        return winograd::conv2d_forward(f32(x), f32(w), f32(b), f32(y), d, epilogue, gemm_bf16_enabled());
      case Fast::direct: return direct_forward(f32(x), f32(w), f32(b), f32(y), d, epilogue);
      case Fast::none: break;
    }
  }
  const int64_t chunk = chunk_samples(d), CHW = d.C * d.H * d.W, PQ = d.pq(), CRS = d.crs();
  Real* cols = workspace((CRS + d.K) * chunk * PQ);
  Real* ymat = cols + CRS * chunk * PQ;
  for (int64_t n0 = 0; n0 < d.N; n0 += chunk) {
    ConvDims c = d;
    c.N = std::min(chunk, d.N - n0);
    im2col(x + n0 * CHW, cols, c);
    gemm(false, false, d.K, c.N * PQ, CRS, Real(1), w, CRS, cols, c.N * PQ, Real(0), ymat, c.N * PQ);  // Y = W cols
    Real* ys = y + n0 * d.K * PQ;
    cols_to_nchw(ymat, b, ys, c.N, d.K, PQ);
    if (epilogue == Epilogue::relu) activation_forward(math::Relu{}, ys, ys, c.N * d.K * PQ);
  }
}

void conv2d_backward(const Real* x, const Real* w, const Real* y, const Real* dy, Real* dx, Real* dw, Real* db,
                     const ConvDims& d, Epilogue epilogue) {
  if constexpr (sizeof(Real) == sizeof(float)) {
    const bool bf16 = gemm_bf16_enabled();
    switch (fast_path(d)) {
      case Fast::winograd:
        if (!g_exact_dw)
          return winograd::conv2d_backward(f32(x), f32(w), f32(y), f32(dy), f32(dx), f32(dw), f32(db), d, epilogue,
                                           bf16);
        // Winograd's weight gradient spreads rounding error (~1e-6 of its largest entry) over
        // entries whose exact gradient is 0, which an adaptive optimizer turns into steps:
        // dL/dx by Winograd, dL/dw and dL/db by a path whose zeros stay zeros.
        winograd::conv2d_backward(f32(x), f32(w), f32(y), f32(dy), f32(dx), nullptr, nullptr, d, epilogue, bf16);
        dx = nullptr;
        if (direct::supported(d) && !bf16)  // under bf16 the lowering's bf16 GEMM, as for every product
          return direct::conv2d_backward(f32(x), f32(w), f32(y), f32(dy), nullptr, f32(dw), f32(db), d, epilogue);
        break;  // the lowering, for dL/dw and dL/db
      case Fast::direct:
        return direct_backward(f32(x), f32(w), f32(y), f32(dy), f32(dx), f32(dw), f32(db), d, epilogue);
      case Fast::none: break;
    }
  }
  const int64_t chunk = chunk_samples(d), CHW = d.C * d.H * d.W, PQ = d.pq(), CRS = d.crs();
  Real* cols = workspace((CRS + d.K) * chunk * PQ);
  Real* dymat = cols + CRS * chunk * PQ;
  for (int64_t n0 = 0; n0 < d.N; n0 += chunk) {
    ConvDims c = d;
    c.N = std::min(chunk, d.N - n0);
    const int64_t NPQ = c.N * PQ;
    nchw_to_cols(dy + n0 * d.K * PQ, dymat, c.N, d.K, PQ);
    if (epilogue == Epilogue::relu) {
      // dL/d(pre-activation) = dy [y > 0], y reordered the same way as dy.
      Real* ymat = cols;  // borrowed until im2col below
      nchw_to_cols(y + n0 * d.K * PQ, ymat, c.N, d.K, PQ);
      activation_backward(math::Relu{}, ymat, dymat, dymat, d.K * NPQ);
    }
    if (db)
      for (int64_t k = 0; k < d.K; ++k) {
        double s = 0;
        for (int64_t i = 0; i < NPQ; ++i) s += dymat[k * NPQ + i];
        db[k] += static_cast<Real>(s);
      }
    im2col(x + n0 * CHW, cols, c);
    gemm(false, true, d.K, CRS, NPQ, Real(1), dymat, NPQ, cols, NPQ, Real(1), dw, CRS);  // dW += dY colsᵀ
    if (dx) {
      gemm(true, false, CRS, NPQ, d.K, Real(1), w, CRS, dymat, NPQ, Real(0), cols, NPQ);  // dcols = Wᵀ dY
      Real* dxs = dx + n0 * CHW;
      std::fill(dxs, dxs + c.N * CHW, Real(0));
      col2im(cols, dxs, c);
    }
  }
}

}  // namespace kiln::cpu
