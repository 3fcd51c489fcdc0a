// One op test suite run on every backend (STYLE.md #6, ggml's tests/test-backend-ops.cpp).
//
// Each case declares its inputs (random, from a seed, so every backend gets the same values;
// odd sizes, batch 1, strides, padding) and output buffers, and calls one Backend kernel. It
// runs on the CPU backend (the reference) and on each other available backend, and every
// output buffer must agree with the CPU's to within the case's bound on the norm-wise
// relative error
//     max_i |got_i - ref_i| / max_i |ref_i|
// (NaN must meet NaN). Bounds are for fp32 arithmetic: 0 where the kernels do the same float
// operations in the same order (pool maxima, argmax bytes, dropout masks), about 1e-6 for
// elementwise math whose last bits may differ (FMA contraction, tanhf), 1e-5 and up where
// sums are taken in another order (GEMMs, convolutions, reductions). GEMM-based cases are run
// a second time with TF32 tensor-core math on CUDA, against a looser bound (cuda_backend.h).
// Output buffers start out holding random values, so a kernel that should overwrite but does
// not, or should accumulate but overwrites, disagrees with the CPU.
//
// "cpu" runs each case on the CPU backend twice (the harness, and determinism); the CUDA runs
// GTEST_SKIP() without a GPU. The BackendCuda tests check whole networks (forward, backward,
// a finite-difference gradient check, graph replay against eager steps, the caching
// allocator) on the GPU; BackendNoGpu checks the errors where there is none.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "config/experiment.h"
#include "gradcheck/gradcheck.h"
#include "loss/loss.h"
#include "model/build.h"
#include "optim/optimizer.h"
#include "synthetic_idx.h"
#include "tensor/buffer.h"
#include "tensor/rng.h"
#include "train/step.h"
#include "train/trainer.h"
#ifdef KILN_WITH_CUDA
#include "backend/cpu/conv.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/norm.h"
#include "backend/cpu/optim.h"
#include "backend/cpu/pool.h"
#include "backend/cuda/allocator.h"
#include "backend/cuda/conv_plan.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/element.h"
#endif

using namespace kiln;

namespace {

// Why the CUDA backend cannot be tested here ("" when it can).
std::string cuda_skip_reason() {
  if (!cuda_backend_built()) return "built without CUDA: CUDA backend not tested";
  if (!device_available(Device::cuda)) return "no CUDA device: CUDA backend not tested";
  return "";
}

#define SKIP_WITHOUT_CUDA()                                   \
  do {                                                        \
    const std::string skip_why_ = cuda_skip_reason();         \
    if (!skip_why_.empty()) GTEST_SKIP() << skip_why_;        \
  } while (0)

// ---------------------------------------------------------------------------------------------
// The harness.

// What an op case sees: its backend, and buffers on that backend's device.
class OpContext {
 public:
  OpContext(Backend& be, uint64_t seed) : be_(be), rng_(seed) {}
  Backend& be() { return be_; }

  // An input of n values uniform in [lo, hi).
  Real* input(int64_t n, double lo = -1, double hi = 1) { return input(random(n, lo, hi)); }
  Real* input(const std::vector<Real>& v) {
    Tensor t(Shape{static_cast<int64_t>(v.size())}, be_.device());
    t.copy_from_host(v.data());
    tensors_.push_back(t);
    return t.data();
  }
  // An output of n values, holding random values until the kernel writes it.
  Real* output(int64_t n) { return output(random(n)); }
  // An output holding `init` until the kernel writes it (state that kernels update in place).
  Real* output(const std::vector<Real>& init) {
    Real* p = input(init);
    outputs_.push_back(tensors_.size() - 1);
    return p;
  }
  // Bytes (max-pool argmax).
  uint8_t* bytes(const std::vector<uint8_t>& v) {
    Buffer b;
    b.ensure(std::max<size_t>(v.size(), 1), be_.device());
    if (!v.empty()) be_.copy_from_host(b.as<uint8_t>(), v.data(), v.size());
    buffers_.push_back({b, v.size(), false});
    return b.as<uint8_t>();
  }
  uint8_t* bytes_output(int64_t n) {
    uint8_t* p = bytes(std::vector<uint8_t>(static_cast<size_t>(n), 0xAB));
    buffers_.back().output = true;
    return p;
  }
  // A value the kernel returned (a loss).
  void scalar(double v) { scalars_.push_back(v); }

  // A random vector drawn from the case's stream (to build structured inputs).
  std::vector<Real> random(int64_t n, double lo = -1, double hi = 1) {
    std::vector<Real> v(static_cast<size_t>(n));
    for (auto& x : v) x = static_cast<Real>(rng_.uniform(lo, hi));
    return v;
  }
  uint64_t below(uint64_t n) { return rng_.below(n); }

  // Every output, in the order declared: float buffers, then byte buffers, then scalars.
  std::vector<std::vector<double>> results() {
    std::vector<std::vector<double>> r;
    for (size_t i : outputs_) {
      const Tensor& t = tensors_[i];
      std::vector<Real> h(static_cast<size_t>(t.numel()));
      t.copy_to_host(h.data());
      r.emplace_back(h.begin(), h.end());
    }
    for (auto& b : buffers_)
      if (b.output) {
        std::vector<uint8_t> h(b.n);
        if (b.n) be_.copy_to_host(h.data(), b.buf.as<uint8_t>(), b.n);
        r.emplace_back(h.begin(), h.end());
      }
    for (double s : scalars_) r.push_back({s});
    return r;
  }

 private:
  struct Bytes {
    Buffer buf;
    size_t n;
    bool output;
  };
  Backend& be_;
  Rng rng_;
  std::vector<Tensor> tensors_;
  std::vector<size_t> outputs_;
  std::vector<Bytes> buffers_;
  std::vector<double> scalars_;
};

struct OpCase {
  std::string name;
  double bound;                // norm-wise relative error against the CPU, fp32
  double tf32_bound = 0;       // > 0: a GEMM-based op, also run with TF32 on CUDA
  bool small_workspace = false;  // CUDA: a tiny convolution workspace, so several chunks
  std::function<void(OpContext&)> run;
};

// max |got - ref| / max |ref|; infinite when NaNs or sizes disagree.
double normwise_error(const std::vector<double>& got, const std::vector<double>& ref) {
  if (got.size() != ref.size()) return std::numeric_limits<double>::infinity();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const bool gn = std::isnan(got[i]), rn = std::isnan(ref[i]);
    if (gn || rn) {
      if (gn != rn) return std::numeric_limits<double>::infinity();
      continue;
    }
    if (std::isinf(ref[i]) || std::isinf(got[i])) {
      if (got[i] != ref[i]) return std::numeric_limits<double>::infinity();
      continue;
    }
    diff = std::max(diff, std::abs(got[i] - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return diff == 0 ? 0 : diff / std::max(scale, 1e-30);
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char ch : s) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return out;
}

// ---------------------------------------------------------------------------------------------
// The cases.

void add_elementwise(std::vector<OpCase>& cases) {
  for (int64_t n : {int64_t{1}, int64_t{4099}}) {
    const std::string sz = "_n" + std::to_string(n);
    cases.push_back({"relu_forward" + sz, 0, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       c.be().relu_forward(x, c.output(n), n);
                     }});
    cases.push_back({"relu_backward" + sz, 0, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       const Real* dy = c.input(n);
                       c.be().relu_backward(x, dy, c.output(n), n);
                     }});
    cases.push_back({"leaky_relu_forward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       c.be().leaky_relu_forward(x, c.output(n), n, 0.1f);
                     }});
    cases.push_back({"leaky_relu_backward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       const Real* dy = c.input(n);
                       c.be().leaky_relu_backward(x, dy, c.output(n), n, 0.1f);
                     }});
    cases.push_back({"tanh_forward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n, -5, 5);
                       c.be().tanh_forward(x, c.output(n), n);
                     }});
    cases.push_back({"tanh_backward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* y = c.input(n);
                       const Real* dy = c.input(n);
                       c.be().tanh_backward(y, dy, c.output(n), n);
                     }});
    cases.push_back({"sigmoid_forward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n, -30, 30);
                       c.be().sigmoid_forward(x, c.output(n), n);
                     }});
    cases.push_back({"sigmoid_backward" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* y = c.input(n, 0, 1);
                       const Real* dy = c.input(n);
                       c.be().sigmoid_backward(y, dy, c.output(n), n);
                     }});
    cases.push_back({"axpy" + sz, 1e-6, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       c.be().axpy(0.37f, x, c.output(n), n);
                     }});
    cases.push_back({"dropout_apply" + sz, 1e-7, 0, false, [n](OpContext& c) {
                       const Real* x = c.input(n);
                       const Real* s = c.input(n, 0, 2);
                       c.be().dropout_apply(x, s, c.output(n), n);
                     }});
  }
  for (float v : {0.0f, -0.0f, 0.625f}) {
    cases.push_back({"fill_" + std::to_string(v), 0, 0, false, [v](OpContext& c) {
                       c.be().fill(c.output(1027), v, 1027);
                     }});
  }
  // Dropout masks must be the CPU's bit for bit (counter-based RNG): steps past 2^31 too.
  struct Mask {
    uint64_t seed, stream;
    int64_t step;
    float p;
    int64_t n;
  };
  for (const Mask& m : {Mask{7, 3, 5, 0.3f, 4099}, Mask{1, 0, 3000000000LL, 0.5f, 777}, Mask{9, 12, 0, 0.0f, 64},
                        Mask{2, 5, 1, 0.9f, 1}}) {
    cases.push_back({"dropout_mask_step" + std::to_string(m.step) + "_p" + std::to_string(m.p) + "_n" + std::to_string(m.n),
                     0, 0, false, [m](OpContext& c) {
                       c.be().dropout_mask(m.seed, m.stream, m.step, m.p, c.output(m.n), m.n);
                     }});
  }
}

void add_dense(std::vector<OpCase>& cases) {
  struct Gemm {
    bool ta, tb;
    int64_t M, N, K, pad;  // pad: extra columns in every leading dimension
    float alpha, beta;
  };
  std::vector<Gemm> gemms;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) gemms.push_back({ta, tb, 37, 29, 53, 0, 0.7f, 0.3f});
  gemms.push_back({false, false, 16, 8, 31, 0, 1.0f, 0.0f});    // β = 0 overwrites
  gemms.push_back({true, false, 5, 7, 9, 3, 1.0f, 1.0f});       // padded leading dimensions
  gemms.push_back({false, true, 1, 1, 1000, 0, 1.0f, 0.0f});    // a dot product
  gemms.push_back({false, false, 64, 1, 130, 0, 1.0f, 0.0f});   // matrix-vector
  gemms.push_back({false, false, 6, 5, 0, 0, 1.0f, 0.5f});      // K = 0: C = βC
  for (const Gemm& g : gemms) {
    const std::string name = std::string("gemm_") + (g.ta ? "T" : "N") + (g.tb ? "T" : "N") + "_M" + std::to_string(g.M) +
                             "_N" + std::to_string(g.N) + "_K" + std::to_string(g.K) + "_pad" + std::to_string(g.pad) +
                             "_beta" + std::to_string(static_cast<int>(g.beta * 10));
    cases.push_back({name, 1e-5, 1e-2, false, [g](OpContext& c) {
                       const int64_t ar = g.ta ? g.K : g.M, ac = g.ta ? g.M : g.K;  // stored shapes
                       const int64_t br = g.tb ? g.N : g.K, bc = g.tb ? g.K : g.N;
                       const int64_t lda = ac + g.pad, ldb = bc + g.pad, ldc = g.N + g.pad;
                       const Real* A = c.input(std::max<int64_t>(ar * lda, 1));
                       const Real* B = c.input(std::max<int64_t>(br * ldb, 1));
                       Real* C = c.output(g.M * ldc);
                       c.be().gemm(g.ta, g.tb, g.M, g.N, g.K, g.alpha, A, std::max<int64_t>(lda, 1), B,
                                   std::max<int64_t>(ldb, 1), g.beta, C, ldc);
                     }});
  }
  for (auto [N, F] : {std::pair<int64_t, int64_t>{7, 13}, {1, 5}, {300, 37}, {5000, 3}}) {
    const std::string sz = "_N" + std::to_string(N) + "_F" + std::to_string(F);
    cases.push_back({"add_row_bias" + sz, 1e-7, 0, false, [N, F](OpContext& c) {
                       const Real* b = c.input(F);
                       c.be().add_row_bias(c.output(N * F), b, N, F);
                     }});
    cases.push_back({"accumulate_row_sum" + sz, 1e-5, 0, false, [N, F](OpContext& c) {
                       const Real* dy = c.input(N * F);
                       c.be().accumulate_row_sum(dy, c.output(F), N, F);
                     }});
  }
}

void add_losses(std::vector<OpCase>& cases) {
  struct Xent {
    int64_t N, K;
    float smoothing;
    bool probs, dz;
  };
  for (const Xent& x : {Xent{1, 10, 0, true, true}, Xent{67, 10, 0.1f, true, true}, Xent{5, 1000, 0, true, true},
                        Xent{33, 3, 0.2f, false, true}, Xent{4, 7, 0, true, false}}) {
    const std::string name = "softmax_xent_N" + std::to_string(x.N) + "_K" + std::to_string(x.K) + "_eps" +
                             std::to_string(static_cast<int>(x.smoothing * 10)) + (x.probs ? "" : "_noprobs") +
                             (x.dz ? "" : "_nodz");
    cases.push_back({name, 1e-6, 0, false, [x](OpContext& c) {
                       const Real* z = c.input(x.N * x.K, -4, 4);
                       std::vector<Real> labels(static_cast<size_t>(x.N));
                       for (auto& l : labels) l = static_cast<Real>(c.below(static_cast<uint64_t>(x.K)));
                       const Real* y = c.input(labels);
                       Real* probs = x.probs ? c.output(x.N * x.K) : nullptr;
                       Real* dz = x.dz ? c.output(x.N * x.K) : nullptr;
                       c.scalar(c.be().softmax_xent(z, y, x.N, x.K, x.smoothing, probs, dz));
                     }});
  }
  for (auto [N, F] : {std::pair<int64_t, int64_t>{13, 7}, {1, 1}, {64, 100}}) {
    cases.push_back({"mse_N" + std::to_string(N) + "_F" + std::to_string(F), 1e-6, 0, false, [N, F](OpContext& c) {
                       const Real* y = c.input(N * F);
                       const Real* t = c.input(N * F);
                       c.scalar(c.be().mse(y, t, N, F, c.output(N * F)));
                     }});
  }
}

struct ConvCase {
  int64_t N, C, H, W, K, R, S, stride, pad;
  bool bias, relu, small_workspace;
};

std::string conv_name(const ConvCase& k) {
  return "N" + std::to_string(k.N) + "_C" + std::to_string(k.C) + "_" + std::to_string(k.H) + "x" + std::to_string(k.W) +
         "_K" + std::to_string(k.K) + "_" + std::to_string(k.R) + "x" + std::to_string(k.S) + "_s" +
         std::to_string(k.stride) + "_p" + std::to_string(k.pad) + (k.bias ? "_bias" : "") + (k.relu ? "_relu" : "") +
         (k.small_workspace ? "_chunked" : "");
}

const std::vector<ConvCase> kConvs = {
    {2, 3, 9, 9, 4, 3, 3, 1, 1, true, false, false},
    {1, 1, 28, 28, 16, 5, 5, 1, 2, true, true, false},   // the Fashion-MNIST net's first layer, batch 1
    {3, 5, 7, 11, 6, 3, 3, 2, 1, false, true, false},    // stride 2, odd sizes
    {2, 4, 6, 6, 8, 1, 1, 1, 0, true, false, false},     // pointwise (x is its own columns)
    {2, 3, 8, 8, 5, 1, 1, 2, 0, false, false, false},    // a residual projection
    {4, 2, 5, 5, 3, 5, 5, 1, 0, true, true, false},      // a 1x1 output
    {3, 2, 9, 7, 3, 4, 2, 3, 2, true, false, false},     // non-square kernel, stride 3
    {5, 3, 10, 10, 7, 3, 3, 1, 1, true, true, true},     // several workspace chunks
    {2, 16, 8, 8, 32, 3, 3, 1, 1, false, false, false},  // wider
};

void add_conv(std::vector<OpCase>& cases) {
  for (const ConvCase& k : kConvs) {
    const ConvDims d = conv_dims(k.N, k.C, k.H, k.W, k.K, k.R, k.S, k.stride, k.pad);
    const Epilogue e = k.relu ? Epilogue::relu : Epilogue::none;
    cases.push_back({"conv2d_forward_" + conv_name(k), 2e-5, 1e-2, k.small_workspace, [k, d, e](OpContext& c) {
                       const Real* x = c.input(d.N * d.C * d.H * d.W);
                       const Real* w = c.input(d.K * d.crs());
                       const Real* b = k.bias ? c.input(d.K) : nullptr;
                       c.be().conv2d_forward(x, w, b, c.output(d.N * d.K * d.pq()), d, e);
                     }});
    for (bool grads_in : {true, false}) {
      if (!grads_in && !(k.bias || k.N == 2)) continue;  // the dx/db-less variant on a few shapes
      cases.push_back({"conv2d_backward_" + conv_name(k) + (grads_in ? "" : "_no_dx_db"), 2e-5, 1e-2, k.small_workspace,
                       [k, d, e, grads_in](OpContext& c) {
                         const Real* x = c.input(d.N * d.C * d.H * d.W);
                         const Real* w = c.input(d.K * d.crs());
                         const Real* y = c.input(d.N * d.K * d.pq());  // about half positive: the ReLU mask
                         const Real* dy = c.input(d.N * d.K * d.pq());
                         Real* dx = grads_in ? c.output(d.N * d.C * d.H * d.W) : nullptr;
                         Real* dw = c.output(d.K * d.crs());
                         Real* db = grads_in && k.bias ? c.output(d.K) : nullptr;
                         c.be().conv2d_backward(x, w, y, dy, dx, dw, db, d, e);
                       }});
    }
  }
}

struct PoolCase {
  int64_t N, C, H, W, k, stride;
  bool nan;
};
const std::vector<PoolCase> kPools = {{2, 3, 7, 7, 2, 2, false}, {1, 4, 9, 9, 3, 2, false}, {2, 2, 6, 5, 3, 1, false},
                                      {1, 1, 4, 4, 2, 2, true}, {3, 2, 8, 8, 2, 2, false}};

void add_pool(std::vector<OpCase>& cases) {
  for (const PoolCase& p : kPools) {
    const PoolDims d = pool_dims(p.N, p.C, p.H, p.W, p.k, p.stride);
    const std::string sz = "_N" + std::to_string(p.N) + "_C" + std::to_string(p.C) + "_" + std::to_string(p.H) + "x" +
                           std::to_string(p.W) + "_k" + std::to_string(p.k) + "_s" + std::to_string(p.stride) +
                           (p.nan ? "_nan" : "");
    const int64_t in = d.N * d.C * d.H * d.W, out = d.N * d.C * d.P * d.Q;
    cases.push_back({"maxpool_forward" + sz, 0, 0, false, [p, d, in, out](OpContext& c) {
                       std::vector<Real> x = c.random(in);
                       if (p.nan) x[5] = std::numeric_limits<Real>::quiet_NaN();
                       const Real* xd = c.input(x);
                       Real* y = c.output(out);
                       c.be().maxpool_forward(xd, y, c.bytes_output(out), d);
                     }});
    if (p.nan) continue;
    cases.push_back({"maxpool_backward" + sz, 1e-7, 0, false, [d, in, out](OpContext& c) {
                       const Real* dy = c.input(out);
                       std::vector<uint8_t> arg(static_cast<size_t>(out));
                       for (auto& a : arg) a = static_cast<uint8_t>(c.below(static_cast<uint64_t>(d.k * d.k)));
                       const uint8_t* am = c.bytes(arg);
                       c.be().maxpool_backward(dy, am, c.output(in), d);
                     }});
    cases.push_back({"avgpool_forward" + sz, 1e-6, 0, false, [d, in, out](OpContext& c) {
                       const Real* x = c.input(in);
                       c.be().avgpool_forward(x, c.output(out), d);
                     }});
    cases.push_back({"avgpool_backward" + sz, 1e-6, 0, false, [d, in, out](OpContext& c) {
                       const Real* dy = c.input(out);
                       c.be().avgpool_backward(dy, c.output(in), d);
                     }});
  }
  for (auto [planes, HW] : {std::pair<int64_t, int64_t>{10, 49}, {3, 1}, {5, 1000}}) {
    const std::string sz = "_planes" + std::to_string(planes) + "_HW" + std::to_string(HW);
    cases.push_back({"global_avgpool_forward" + sz, 1e-6, 0, false, [planes, HW](OpContext& c) {
                       const Real* x = c.input(planes * HW);
                       c.be().global_avgpool_forward(x, c.output(planes), planes, HW);
                     }});
    cases.push_back({"global_avgpool_backward" + sz, 1e-6, 0, false, [planes, HW](OpContext& c) {
                       const Real* dy = c.input(planes);
                       c.be().global_avgpool_backward(dy, c.output(planes * HW), planes, HW);
                     }});
  }
}

void add_norm(std::vector<OpCase>& cases) {
  struct Bn {
    int64_t N, C, S;
    double offset;  // added to the input: a mean far from 0
  };
  for (const Bn& b : {Bn{4, 3, 25, 0}, Bn{7, 13, 1, 0}, Bn{8, 3, 1024, 0}, Bn{1, 5, 7, 0}, Bn{6, 4, 9, 100},
                      Bn{2, 2, 4100, 0}}) {
    const std::string sz = "_N" + std::to_string(b.N) + "_C" + std::to_string(b.C) + "_S" + std::to_string(b.S) +
                           (b.offset != 0 ? "_offset" : "");
    const int64_t n = b.N * b.C * b.S, C = b.C;
    cases.push_back({"batchnorm_forward_train" + sz, 1e-5, 0, false, [b, n, C](OpContext& c) {
                       const Real* x = c.input(n, b.offset - 1, b.offset + 1);
                       const Real* gamma = c.input(C, 0.5, 1.5);
                       const Real* beta = c.input(C, -0.5, 0.5);
                       Real* y = c.output(n);
                       Real* mean = c.output(C);
                       Real* var = c.output(C);
                       c.be().batchnorm_forward_train(x, gamma, beta, b.N, C, b.S, 1e-5f, y, mean, var, c.output(C));
                     }});
    cases.push_back({"batchnorm_forward_eval" + sz, 1e-6, 0, false, [b, n, C](OpContext& c) {
                       const Real* x = c.input(n, b.offset - 1, b.offset + 1);
                       const Real* gamma = c.input(C, 0.5, 1.5);
                       const Real* beta = c.input(C, -0.5, 0.5);
                       const Real* rm = c.input(C, b.offset - 0.5, b.offset + 0.5);
                       const Real* rv = c.input(C, 0.5, 2);
                       Real* y = c.output(n);
                       c.be().batchnorm_forward_eval(x, gamma, beta, rm, rv, b.N, C, b.S, 1e-5f, y, c.output(C));
                     }});
    for (bool batch_stats : {true, false})
      for (bool with_dx : {true, false}) {
        if (!with_dx && !batch_stats) continue;
        cases.push_back({"batchnorm_backward" + sz + (batch_stats ? "_batch" : "_running") + (with_dx ? "" : "_no_dx"),
                         1e-5, 0, false, [b, n, C, batch_stats, with_dx](OpContext& c) {
                           const Real* x = c.input(n, b.offset - 1, b.offset + 1);
                           const Real* dy = c.input(n);
                           const Real* mean = c.input(C, b.offset - 0.1, b.offset + 0.1);
                           const Real* rstd = c.input(C, 0.5, 2);
                           const Real* gamma = c.input(C, 0.5, 1.5);
                           Real* dx = with_dx ? c.output(n) : nullptr;
                           Real* dgamma = c.output(C);
                           c.be().batchnorm_backward(x, dy, mean, rstd, gamma, b.N, C, b.S, batch_stats, dx, dgamma,
                                                     c.output(C));
                         }});
      }
  }
  cases.push_back({"batchnorm_update_running_C13", 1e-6, 0, false, [](OpContext& c) {
                     const Real* mean = c.input(13);
                     const Real* var = c.input(13, 0.1, 2);
                     Real* rm = c.output(13);
                     c.be().batchnorm_update_running(mean, var, 13, 50, 0.1f, rm, c.output(13));
                   }});
}

void add_optim(std::vector<OpCase>& cases) {
  auto mask_input = [](OpContext& c, int64_t n) {
    std::vector<Real> m(static_cast<size_t>(n));
    for (auto& v : m) v = static_cast<Real>(c.below(2));
    return c.input(m);
  };
  const int64_t n = 1001;
  struct Sgd {
    const char* name;
    SgdUpdate u;
  };
  auto sgd = [](float mu, bool average, bool nesterov, float wd, bool decoupled) {
    SgdUpdate u;
    u.lr = 0.05f;
    u.momentum = mu;
    u.average = average;
    u.nesterov = nesterov;
    u.weight_decay = wd;
    u.decoupled = decoupled;
    return u;
  };
  for (const Sgd& s : {Sgd{"plain", sgd(0, false, false, 0, false)}, Sgd{"momentum", sgd(0.9f, false, false, 5e-4f, false)},
                       Sgd{"average", sgd(0.9f, true, false, 0, false)}, Sgd{"nesterov", sgd(0.9f, false, true, 5e-4f, false)},
                       Sgd{"nesterov_average_decoupled", sgd(0.8f, true, true, 0.01f, true)}}) {
    const SgdUpdate u = s.u;
    cases.push_back({std::string("sgd_update_") + s.name, 1e-6, 0, false, [u, n, mask_input](OpContext& c) {
                       const Real* g = c.input(n);
                       const Real* mask = mask_input(c, n);
                       Real* theta = c.output(n);
                       // Without momentum the velocity is never read: the optimizer passes the gradient.
                       Real* v = u.momentum != 0 ? c.output(n) : const_cast<Real*>(g);
                       c.be().sgd_update(theta, g, mask, v, n, u);
                     }});
  }
  for (bool decoupled : {false, true}) {
    AdamUpdate u;
    u.lr = 1e-3f;
    u.weight_decay = 0.01f;
    u.decoupled = decoupled;
    u.bias1 = 1 - std::pow(0.9f, 3.0f);
    u.bias2 = 1 - std::pow(0.999f, 3.0f);
    cases.push_back({std::string("adam_update") + (decoupled ? "w" : ""), 1e-6, 0, false, [u, n, mask_input](OpContext& c) {
                       const Real* g = c.input(n);
                       const Real* mask = mask_input(c, n);
                       Real* theta = c.output(n);
                       Real* m = c.output(n);
                       Real* s = c.output(c.random(n, 0, 1e-2));  // second moments are ≥ 0
                       c.be().adam_update(theta, g, mask, m, s, n, u);
                     }});
  }
}

const std::vector<OpCase>& all_cases() {
  static const std::vector<OpCase> cases = [] {
    std::vector<OpCase> c;
    add_elementwise(c);
    add_dense(c);
    add_losses(c);
    add_conv(c);
    add_pool(c);
    add_norm(c);
    add_optim(c);
    return c;
  }();
  return cases;
}

enum class Target { cpu, cuda, cuda_tf32 };
const char* target_name(Target t) { return t == Target::cpu ? "cpu" : t == Target::cuda ? "cuda" : "cuda_tf32"; }

struct OpParam {
  Target target;
  size_t index;
};

std::vector<OpParam> all_params() {
  std::vector<OpParam> p;
  for (size_t i = 0; i < all_cases().size(); ++i) {
    p.push_back({Target::cpu, i});
    p.push_back({Target::cuda, i});
    if (all_cases()[i].tf32_bound > 0) p.push_back({Target::cuda_tf32, i});
  }
  return p;
}

// Runs one case on a backend with the CUDA settings it asks for, restoring them after.
std::vector<std::vector<double>> run_case(const OpCase& op, Backend& be, Target target, uint64_t seed) {
#ifdef KILN_WITH_CUDA
  struct CudaSettings {
    bool active = false;
    bool tf32 = false;
    int64_t workspace = 0;
    ~CudaSettings() {
      if (!active) return;
      cuda::set_tf32(tf32);
      cuda::set_conv_workspace_bytes(workspace);
    }
  } restore;
  if (target != Target::cpu) {
    restore.active = true;
    restore.tf32 = cuda::set_tf32(target == Target::cuda_tf32);
    restore.workspace = cuda::set_conv_workspace_bytes(op.small_workspace ? 1 : int64_t{256} << 20);
  }
#else
  (void)target;
#endif
  OpContext c(be, seed);
  op.run(c);
  return c.results();
}

class BackendOps : public ::testing::TestWithParam<OpParam> {};

TEST_P(BackendOps, MatchesCpu) {
  const OpParam p = GetParam();
  const OpCase& op = all_cases()[p.index];
  if (p.target != Target::cpu) SKIP_WITHOUT_CUDA();
  const uint64_t seed = 1000 + p.index;
  const auto ref = run_case(op, cpu_backend(), Target::cpu, seed);
  Backend& be = p.target == Target::cpu ? cpu_backend() : backend(Device::cuda);
  const auto got = run_case(op, be, p.target, seed);
  ASSERT_EQ(got.size(), ref.size());
  ASSERT_FALSE(ref.empty()) << "a case with no outputs";
  const double bound = p.target == Target::cuda_tf32 ? op.tf32_bound : op.bound;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = normwise_error(got[i], ref[i]);
    EXPECT_LE(err, bound) << op.name << " on " << target_name(p.target) << ": output " << i << " of " << ref.size()
                          << " (" << ref[i].size() << " values) is off by " << err << " (bound " << bound << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(Backend, BackendOps, ::testing::ValuesIn(all_params()),
                         [](const ::testing::TestParamInfo<OpParam>& info) {
                           return std::string(target_name(info.param.target)) + "_" +
                                  sanitize(all_cases()[info.param.index].name);
                         });

// ---------------------------------------------------------------------------------------------
// Whole networks on the GPU.

Tensor random_batch(const Shape& sample, int64_t n, uint64_t seed) {
  std::vector<int64_t> d{n};
  for (int64_t v : sample.dims()) d.push_back(v);
  Tensor x{Shape(d)};
  Rng rng(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 1));
  return x;
}

std::vector<int32_t> random_labels(int64_t n, int32_t classes, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> y(static_cast<size_t>(n));
  for (auto& v : y) v = static_cast<int32_t>(rng.below(static_cast<uint64_t>(classes)));
  return y;
}

std::vector<double> host_values(const Tensor& t) {
  Tensor h = t.to(Device::cpu);
  return std::vector<double>(h.data(), h.data() + h.numel());
}

// Every kind of layer: a conv with its ReLU fused, max pooling, a strided conv with batch norm,
// a residual block, dropout, global average pooling and a dense layer.
const std::vector<std::string> kNet = {"conv 6 3x3 pad=1", "relu", "maxpool 2", "conv 8 3x3 stride=2 pad=1", "bn", "relu",
                                       "residual { conv 8 3x3 pad=1; bn; relu }", "dropout 0.25", "gap", "dense 5"};
const Shape kNetInput{3, 12, 12};

TEST(BackendCuda, NetworkForwardBackwardMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  Model cpu = build_model(kNetInput, kNet, 7), gpu = build_model(kNetInput, kNet, 7);
  gpu.to(Device::cuda);
  const Tensor x = random_batch(kNetInput, 5, 3);
  const Tensor xg = x.to(Device::cuda);
  const auto labels = random_labels(5, 5, 4);
  SoftmaxCrossEntropy lc, lg;
  for (Mode mode : {Mode::train, Mode::eval}) {
    SCOPED_TRACE(mode == Mode::train ? "train" : "eval");
    const Pass pass{mode, 11, 3};
    cpu.zero_grad();
    gpu.zero_grad();
    const Tensor& oc = cpu.forward(x, pass);
    const Tensor& og = gpu.forward(xg, pass);
    Tensor dc(oc.shape()), dg(og.shape(), Device::cuda);
    const double Lc = lc.forward_backward(oc, {labels}, &dc), Lg = lg.forward_backward(og, {labels}, &dg);
    cpu.backward(dc);
    gpu.backward(dg);
    EXPECT_NEAR(Lg, Lc, 1e-5 * std::abs(Lc));
    EXPECT_LE(normwise_error(host_values(og), host_values(oc)), 1e-4);
    EXPECT_LE(normwise_error(host_values(gpu.grads()), host_values(cpu.grads())), 1e-4);
    for (size_t i = 0; i < cpu.named_buffers().size(); ++i)
      EXPECT_LE(normwise_error(host_values(gpu.named_buffers()[i].value), host_values(cpu.named_buffers()[i].value)),
                1e-5)
          << cpu.named_buffers()[i].name;
  }
}

// Central differences (gradcheck.h) of the loss of a small CNN on `device`: the parameters are
// perturbed in a host copy that the loss function uploads before each forward.
GradCheckResult network_gradcheck(Device device) {
  Model m = build_model({2, 8, 8},
                        {"conv 4 3x3 pad=1", "tanh", "maxpool 2", "conv 6 3x3 stride=2 pad=1", "bn", "sigmoid", "gap",
                         "dense 3"},
                        3);
  m.to(device);
  const Tensor x = random_batch({2, 8, 8}, 4, 5).to(device);
  const std::vector<int32_t> labels{0, 1, 2, 1};
  const Pass pass{Mode::train, 1, 0};
  SoftmaxCrossEntropy loss;
  m.zero_grad();
  const Tensor& out = m.forward(x, pass);
  Tensor dout(out.shape(), device);
  loss.forward_backward(out, {labels}, &dout);
  m.backward(dout);
  Tensor values = m.params().to(Device::cpu).clone(), grads = m.grads().to(Device::cpu).clone();
  std::vector<GradProbe> probes;
  for (const auto& p : m.named_params()) {
    const int64_t offset = p.value.data() - m.params().data();
    probes.push_back({p.name, values.slice(offset, p.value.shape()), grads.slice(offset, p.value.shape())});
  }
  auto f = [&] {
    m.params().copy_from(values);
    return loss.forward_backward(m.forward(x, pass), {labels}, nullptr);
  };
  GradCheckOptions opt;  // float tolerances
  opt.steps = {1e-2, 3e-3, 1e-3};
  opt.max_elements = 24;
  return check_gradients(f, probes, opt);
}

TEST(BackendNetwork, GradientCheckOnCpu) {  // the GPU test's check, on the reference backend
  const GradCheckResult r = network_gradcheck(Device::cpu);
  EXPECT_TRUE(r.ok) << r.report();
  EXPECT_GT(r.checked, 50);
}

TEST(BackendCuda, NetworkGradientCheck) {
  SKIP_WITHOUT_CUDA();
  const GradCheckResult r = network_gradcheck(Device::cuda);
  EXPECT_TRUE(r.ok) << r.report();
  EXPECT_GT(r.checked, 50);
}

// Training steps replayed from CUDA graphs against the same steps run eagerly: the same
// losses, predictions and parameters, through a short batch (a shape change) and an
// evaluation-like reallocation in the middle.
void graph_matches_eager(const OptimizerConfig& oc) {
  Model a = build_model(kNetInput, kNet, 9), b = build_model(kNetInput, kNet, 9);
  a.to(Device::cuda);
  b.to(Device::cuda);
  auto oa = make_optimizer(oc, a.param_count()), ob = make_optimizer(oc, b.param_count());
  oa->to(Device::cuda);
  ob->to(Device::cuda);
  SoftmaxCrossEntropy la, lb;
  TrainStep sa(a, la, *oa, 21), sb(b, lb, *ob, 21);
  sa.set_graphs(true);
  sb.set_graphs(false);
  const std::vector<int64_t> sizes{8, 8, 8, 8, 5, 8, 8, 8, 8, 8};
  for (size_t i = 0; i < sizes.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    Batch batch;
    batch.x = random_batch(kNetInput, sizes[i], 100 + i);
    batch.y = random_labels(sizes[i], 5, 200 + i);
    const double lr = 0.05 * (1.0 - 0.05 * static_cast<double>(i));
    const auto ra = sa.run(batch, static_cast<int64_t>(i), lr), rb = sb.run(batch, static_cast<int64_t>(i), lr);
    EXPECT_NEAR(ra.loss, rb.loss, 1e-6 * std::max(1.0, std::abs(rb.loss)));
    EXPECT_EQ(ra.correct, rb.correct);
    if (i == 6) {  // memory changes hands between steps (as an evaluation pass does): graphs must be dropped
      Tensor scratch(Shape{12345}, Device::cuda);
      (void)scratch;
    }
  }
  EXPECT_LE(normwise_error(host_values(a.params()), host_values(b.params())), 1e-6);
  const auto& st = sa.graph_stats();
  EXPECT_TRUE(st.disabled.empty()) << st.disabled;
  EXPECT_GE(st.captures, 2);
  EXPECT_GE(st.replays, 4);
  EXPECT_EQ(sb.graph_stats().replays, 0);
}

TEST(BackendCuda, GraphReplayMatchesEagerSgd) {
  SKIP_WITHOUT_CUDA();
  OptimizerConfig c;
  c.momentum = 0.9;
  c.nesterov = true;
  c.weight_decay = 5e-4;
  graph_matches_eager(c);
}

TEST(BackendCuda, GraphReplayMatchesEagerAdamW) {
  SKIP_WITHOUT_CUDA();
  OptimizerConfig c;
  c.name = "adamw";
  c.weight_decay = 0.01;
  graph_matches_eager(c);
}

#ifdef KILN_WITH_CUDA
TEST(BackendCuda, CachingAllocatorReusesMemory) {
  SKIP_WITHOUT_CUDA();
  Model m = build_model(kNetInput, kNet, 1);
  m.to(Device::cuda);
  auto opt = make_optimizer(OptimizerConfig{}, m.param_count());
  opt->to(Device::cuda);
  SoftmaxCrossEntropy loss;
  TrainStep step(m, loss, *opt, 1);
  Batch batch;
  batch.x = random_batch(kNetInput, 16, 1);
  batch.y = random_labels(16, 5, 2);
  step.run(batch, 0, 0.01);
  step.run(batch, 1, 0.01);
  const cuda::MemoryStats before = cuda::memory_stats();
  for (int i = 2; i < 12; ++i) step.run(batch, i, 0.01);
  const cuda::MemoryStats after = cuda::memory_stats();
  EXPECT_EQ(after.device_mallocs, before.device_mallocs) << "steady-state steps called cudaMalloc";
  EXPECT_EQ(after.in_use, before.in_use);
  EXPECT_GT(after.peak_in_use, 0);
  EXPECT_GE(after.reserved, after.in_use);
  // Freed tensors come back from the cache.
  { Tensor t(Shape{1 << 20}, Device::cuda); }
  const int64_t mallocs = cuda::memory_stats().device_mallocs;
  { Tensor t(Shape{1 << 20}, Device::cuda); }
  EXPECT_EQ(cuda::memory_stats().device_mallocs, mallocs);
  EXPECT_NE(backend(Device::cuda).describe().find("peak"), std::string::npos);
}
#endif

TEST(BackendCuda, TrainsTinyDatasetOnGpu) {
  SKIP_WITHOUT_CUDA();
  const std::string dir = kiln::testing::make_synthetic_idx("cuda-train");
  const std::string text = "name = \"tiny\"\nseed = 3\n[data]\ndataset = \"idx\"\ndir = \"" + dir +
                           "\"\n[model]\nlayers = [\"conv 4 3x3 pad=1\", \"relu\", \"maxpool 2\", \"conv 8 3x3 pad=1\", "
                           "\"bn\", \"relu\", \"gap\", \"dropout 0.1\", \"dense 4\"]\n[optimizer]\nname = \"sgd\"\nlr = "
                           "0.05\nmomentum = 0.9\n[train]\nbatch_size = 16\nepochs = 6\ndevice = \"cuda\"\n";
  TrainOptions o;
  o.runs_dir = dir + "/runs";
  o.progress = o.epoch_lines = o.write_report = false;
  const RunResult r = train(parse_experiment(text, "tiny.toml"), o);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(r.status, RunResult::Status::completed) << r.message;
  EXPECT_GT(r.test_accuracy, 0.9);
}

// ---------------------------------------------------------------------------------------------
// Without a GPU (or without the CUDA backend): clear errors, no crash.

TEST(BackendNoGpu, CudaRequestsFailWithAClearError) {
  if (device_available(Device::cuda)) GTEST_SKIP() << "a CUDA device is present";
  std::string msg;
  try {
    backend(Device::cuda);
  } catch (const Error& e) {
    msg = e.what();
  }
  if (cuda_backend_built()) EXPECT_NE(msg.find("no usable NVIDIA GPU"), std::string::npos) << msg;
  else EXPECT_NE(msg.find("no CUDA backend"), std::string::npos) << msg;
  EXPECT_THROW(Tensor(Shape{4}, Device::cuda), Error);
  EXPECT_THROW(Tensor(Shape{4}).to(Device::cuda), Error);
  TrainConfig t;
  t.device = "cuda";
  EXPECT_THROW(device_of(t), Error);
  // Asking twice gives the same answer (the failure is remembered, nothing is retried badly).
  EXPECT_FALSE(device_available(Device::cuda));
}

TEST(BackendNoGpu, TrainingOnCudaIsAnError) {
  if (device_available(Device::cuda)) GTEST_SKIP() << "a CUDA device is present";
  const std::string dir = kiln::testing::make_synthetic_idx("cuda-unavailable", 32, 16);
  const std::string text = "name = \"tiny\"\n[data]\ndataset = \"idx\"\ndir = \"" + dir +
                           "\"\n[model]\nlayers = [\"dense 4\"]\n[train]\nepochs = 1\ndevice = \"cuda\"\n";
  TrainOptions o;
  o.runs_dir = dir + "/runs";
  o.progress = o.epoch_lines = o.write_report = false;
  std::string msg;
  try {
    train(parse_experiment(text, "tiny.toml"), o);
  } catch (const Error& e) {
    msg = e.what();
  }
  std::filesystem::remove_all(dir);
  EXPECT_NE(msg.find("train.device"), std::string::npos) << msg;
}

#ifdef KILN_WITH_CUDA
// Host-side checks of CUDA-backend code that need no GPU.
// The CUDA backend's convolution plan (conv_plan.h), run on the host with the kernels' own
// per-element code (element.h) and a naive column-major GEMM in place of cuBLAS: the CUDA
// algorithm, index arithmetic and GEMM transposes checked against the CPU's direct
// convolution, without a GPU.
void blas_gemm_reference(const cuda::BlasGemm& g, float alpha, float beta) {
  for (int64_t b = 0; b < g.batch; ++b) {
    const float* A = g.A + b * g.stride_a;
    const float* B = g.B + b * g.stride_b;
    float* C = g.C + b * g.stride_c;
    for (int64_t j = 0; j < g.n; ++j)
      for (int64_t i = 0; i < g.m; ++i) {
        double acc = 0;
        for (int64_t l = 0; l < g.k; ++l) {
          const double a = g.trans_a ? A[l + i * g.lda] : A[i + l * g.lda];
          const double bb = g.trans_b ? B[j + l * g.ldb] : B[l + j * g.ldb];
          acc += a * bb;
        }
        float& c = C[i + j * g.ldc];
        c = static_cast<float>(alpha * acc + (beta == 0 ? 0.0 : static_cast<double>(beta) * c));
      }
  }
}

struct HostExec {
  int64_t gemms = 0;
  void im2col(const float* x, float* cols, const ConvDims& d, int64_t stride_n, int64_t stride_row) {
    const bool matrix = stride_n == d.pq() && stride_row == d.N * d.pq();  // as conv.cu decides
    ASSERT_TRUE(matrix || (stride_n == d.crs() * d.pq() && stride_row == d.pq()));
    const cuda::ConvGeom g = cuda::conv_geom(d);
    for (int64_t i = 0; i < d.N * d.crs() * d.pq(); ++i) {
      cols[i] = cuda::im2col_at<uint32_t>(x, g, static_cast<uint32_t>(i), matrix);
      ASSERT_EQ(cols[i], cuda::im2col_at<int64_t>(x, g, i, matrix));
    }
  }
  void col2im(const float* dcols, float* dx, const ConvDims& d) {
    const cuda::ConvGeom g = cuda::conv_geom(d);
    for (int64_t i = 0; i < d.N * d.C * d.H * d.W; ++i) dx[i] = cuda::col2im_at<int64_t>(dcols, g, i);
  }
  void nchw_to_rows(const float* dy, const float* y, float* dymat, int64_t N, int64_t K, int64_t PQ) {
    for (int64_t i = 0; i < N * K * PQ; ++i)
      dymat[i] = cuda::nchw_to_rows_at<uint32_t>(dy, y, static_cast<uint32_t>(N), static_cast<uint32_t>(K),
                                                 static_cast<uint32_t>(PQ), static_cast<uint32_t>(i));
  }
  void accumulate_rows(const float* m, float* out, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0;
      for (int64_t j = 0; j < cols; ++j) s += m[r * cols + j];
      out[r] += static_cast<float>(s);
    }
  }
  void bias_epilogue(float* y, const float* b, int64_t N, int64_t K, int64_t PQ, bool relu) {
    for (int64_t i = 0; i < N * K * PQ; ++i) {
      float v = y[i];
      if (b) v += b[(i / PQ) % K];
      if (relu) v = v > 0 ? v : 0.0f;
      y[i] = v;
    }
  }
  void fill_zero(float* p, int64_t n) { std::fill(p, p + n, 0.0f); }
  void gemm(const cuda::BlasGemm& g, float alpha, float beta) {
    ++gemms;
    blas_gemm_reference(g, alpha, beta);
  }
};

std::vector<Real> uniform(int64_t n, Rng& rng) {
  std::vector<Real> v(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (auto& x : v) x = static_cast<Real>(rng.uniform(-1, 1));
  return v;
}

double normwise_error(const std::vector<Real>& got, const std::vector<Real>& ref) {
  return normwise_error(std::vector<double>(got.begin(), got.end()), std::vector<double>(ref.begin(), ref.end()));
}

TEST(BackendCudaHost, GemmTransposeIdentityMatchesCpu) {
  Rng rng(3);
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int64_t pad : {0, 2}) {
        const int64_t M = 7, N = 5, K = 9;
        const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
        const auto A = uniform((ta ? K : M) * lda, rng), B = uniform((tb ? N : K) * ldb, rng);
        auto C = uniform(M * ldc, rng), Cref = C;
        blas_gemm_reference(cuda::row_major_gemm(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc), 0.5f,
                            0.25f);
        cpu::gemm_naive(ta, tb, M, N, K, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, Cref.data(), ldc);
        EXPECT_LE(normwise_error(C, Cref), 1e-6) << ta << tb << pad;
      }
}

TEST(BackendCudaHost, ConvPlanMatchesCpuReference) {
  Rng rng(11);
  for (const ConvCase& k : kConvs)
    for (int64_t budget : {int64_t{256} << 20, int64_t{1}}) {  // one chunk, and one sample per chunk
      SCOPED_TRACE(conv_name(k) + " budget " + std::to_string(budget));
      const ConvDims d = conv_dims(k.N, k.C, k.H, k.W, k.K, k.R, k.S, k.stride, k.pad);
      const int64_t nx = d.N * d.C * d.H * d.W, nw = d.K * d.crs(), ny = d.N * d.K * d.pq();
      const auto x = uniform(nx, rng), w = uniform(nw, rng), b = uniform(d.K, rng);
      HostExec ex;
      // Forward.
      std::vector<Real> ws(static_cast<size_t>(std::max<int64_t>(cuda::conv_forward_workspace(d, budget), 1)));
      std::vector<Real> y = uniform(ny, rng), yref(static_cast<size_t>(ny));
      cuda::conv_forward_plan(ex, x.data(), w.data(), k.bias ? b.data() : nullptr, y.data(), d, k.relu, ws.data(),
                              budget);
      cpu::conv2d_forward_naive(x.data(), w.data(), k.bias ? b.data() : nullptr, yref.data(), d);
      if (k.relu)
        for (auto& v : yref) v = v > 0 ? v : 0.0f;
      EXPECT_LE(normwise_error(y, yref), 1e-5);
      EXPECT_EQ(ex.gemms, (d.N + cuda::conv_chunk(d, d.crs() * d.pq(), budget) - 1) /
                              (cuda::conv_pointwise(d) ? d.N : cuda::conv_chunk(d, d.crs() * d.pq(), budget)));
      // Backward, with dy masked by the stored output under the ReLU epilogue.
      const auto ystore = uniform(ny, rng), dy = uniform(ny, rng);
      std::vector<Real> g = dy;
      if (k.relu)
        for (int64_t i = 0; i < ny; ++i) g[static_cast<size_t>(i)] = ystore[static_cast<size_t>(i)] > 0 ? dy[static_cast<size_t>(i)] : 0.0f;
      ws.assign(static_cast<size_t>(cuda::conv_backward_workspace(d, budget)), 0.0f);
      std::vector<Real> dx = uniform(nx, rng), dw = uniform(nw, rng), db = uniform(d.K, rng);
      std::vector<Real> dxref(static_cast<size_t>(nx)), dwref = dw, dbref = db;
      cuda::conv_backward_plan(ex, x.data(), w.data(), ystore.data(), dy.data(), dx.data(), dw.data(), db.data(), d,
                               k.relu, ws.data(), budget);
      cpu::conv2d_backward_naive(x.data(), w.data(), g.data(), dxref.data(), dwref.data(), dbref.data(), d);
      EXPECT_LE(normwise_error(dx, dxref), 1e-5);
      EXPECT_LE(normwise_error(dw, dwref), 1e-5);
      EXPECT_LE(normwise_error(db, dbref), 1e-5);
    }
}

TEST(BackendCudaHost, PoolElementsMatchCpu) {
  Rng rng(12);
  for (const PoolCase& p : kPools) {
    const PoolDims d = pool_dims(p.N, p.C, p.H, p.W, p.k, p.stride);
    SCOPED_TRACE(::testing::Message() << p.N << "x" << p.C << "x" << p.H << "x" << p.W << " k" << p.k << " s" << p.stride);
    const int64_t in = d.N * d.C * d.H * d.W, out = d.N * d.C * d.P * d.Q;
    auto x = uniform(in, rng);
    if (p.nan) x[5] = std::numeric_limits<Real>::quiet_NaN();
    std::vector<Real> yref(static_cast<size_t>(out)), dy = uniform(out, rng), dxref(static_cast<size_t>(in));
    std::vector<uint8_t> aref(static_cast<size_t>(out));
    cpu::maxpool_forward(x.data(), yref.data(), aref.data(), d);
    cpu::maxpool_backward(dy.data(), aref.data(), dxref.data(), d);
    const cuda::PoolGeom g = cuda::pool_geom(d);
    for (int64_t o = 0; o < out; ++o) {
      int at = -1;
      const float v = cuda::maxpool_at(x.data(), g, o, &at);
      ASSERT_TRUE(v == yref[static_cast<size_t>(o)] || (std::isnan(v) && std::isnan(yref[static_cast<size_t>(o)]))) << o;
      ASSERT_EQ(at, aref[static_cast<size_t>(o)]) << o;
    }
    for (int64_t i = 0; i < in; ++i)
      ASSERT_EQ(cuda::maxpool_grad_at(dy.data(), aref.data(), g, i), dxref[static_cast<size_t>(i)]) << i;
    if (p.nan) continue;
    const float inv = 1.0f / static_cast<float>(d.k * d.k);
    std::vector<Real> ya(static_cast<size_t>(out)), dxa(static_cast<size_t>(in));
    cpu::avgpool_forward(x.data(), ya.data(), d);
    cpu::avgpool_backward(dy.data(), dxa.data(), d);
    for (int64_t o = 0; o < out; ++o) ASSERT_EQ(cuda::avgpool_at(x.data(), g, o, inv), ya[static_cast<size_t>(o)]) << o;
    // The gather sums dy·inv over the covering windows in the scatter's order, but the host
    // compiler may contract either side's multiply-add into an FMA: last-bit differences only.
    std::vector<Real> dxg(static_cast<size_t>(in));
    for (int64_t i = 0; i < in; ++i) dxg[static_cast<size_t>(i)] = cuda::avgpool_grad_at(dy.data(), g, i, inv);
    EXPECT_LE(normwise_error(dxg, dxa), 1e-6);
  }
}

TEST(BackendCudaHost, OptimizerElementsMatchCpu) {
  Rng rng(13);
  const int64_t n = 257;
  auto run_sgd = [&](const SgdUpdate& u) {
    auto theta = uniform(n, rng), g = uniform(n, rng), v = uniform(n, rng), mask = uniform(n, rng);
    auto theta2 = theta, v2 = v;
    cpu::sgd_update(theta.data(), g.data(), mask.data(), v.data(), n, u);
    const cuda::SgdArgs a = cuda::sgd_args(u);
    for (int64_t i = 0; i < n; ++i) cuda::sgd_at(theta2.data(), g.data(), mask.data(), v2.data(), i, a);
    EXPECT_LE(normwise_error(theta2, theta), 1e-6);
    EXPECT_LE(normwise_error(v2, v), 1e-6);
  };
  for (float mu : {0.0f, 0.9f})
    for (bool average : {false, true})
      for (bool nesterov : {false, true})
        for (bool decoupled : {false, true}) {
          SgdUpdate u;
          u.lr = 0.1f;
          u.momentum = mu;
          u.average = average;
          u.nesterov = nesterov && mu != 0;
          u.weight_decay = 0.01f;
          u.decoupled = decoupled;
          run_sgd(u);
        }
  for (bool decoupled : {false, true}) {
    AdamUpdate u;
    u.lr = 0.01f;
    u.weight_decay = 0.1f;
    u.decoupled = decoupled;
    u.bias1 = 0.271f;
    u.bias2 = 0.002997f;
    auto theta = uniform(n, rng), g = uniform(n, rng), m = uniform(n, rng), mask = uniform(n, rng);
    std::vector<Real> s(static_cast<size_t>(n));
    for (auto& v : s) v = static_cast<Real>(rng.uniform(0, 0.01));
    auto theta2 = theta, m2 = m, s2 = s;
    cpu::adam_update(theta.data(), g.data(), mask.data(), m.data(), s.data(), n, u);
    const cuda::AdamArgs a = cuda::adam_args(u);
    for (int64_t i = 0; i < n; ++i) cuda::adam_at(theta2.data(), g.data(), mask.data(), m2.data(), s2.data(), i, a);
    EXPECT_LE(normwise_error(theta2, theta), 1e-6);
    EXPECT_LE(normwise_error(m2, m), 1e-6);
    EXPECT_LE(normwise_error(s2, s), 1e-6);
  }
}

TEST(BackendCudaHost, DropoutAndChannelIndexing) {
  std::vector<Real> ref(5000);
  cpu::dropout_mask(42, 7, 3000000001LL, 0.3f, ref.data(), 5000);
  const float keep = 1.0f / (1.0f - 0.3f);
  for (int64_t i = 0; i < 5000; ++i)
    ASSERT_EQ(cuda::dropout_scale_at(42, 7, 3000000001LL, 0.3, keep, i), ref[static_cast<size_t>(i)]) << i;
  // Value j of channel c of (N, C, S) is x[(n C + c) S + i] with j = n S + i.
  const int64_t N = 3, C = 4, S = 5;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        const int64_t j = n * S + i, want = (n * C + c) * S + i;
        ASSERT_EQ(cuda::channel_at<uint32_t>(static_cast<uint32_t>(j), static_cast<uint32_t>(S), C, c), want);
        ASSERT_EQ(cuda::channel_at<int64_t>(j, S, C, c), want);
      }
}

TEST(BackendCudaHost, AllocatorSizeClasses) {
  size_t last = 0;
  for (size_t bytes : {size_t{1}, size_t{512}, size_t{513}, size_t{4096}, size_t{4097}, size_t{5000}, size_t{1} << 20,
                       (size_t{1} << 20) + 1, size_t{3} << 29, (size_t{1} << 33) + 12345}) {
    const size_t c = cuda::CachingAllocator::size_class(bytes);
    EXPECT_GE(c, bytes);
    EXPECT_EQ(c % 512, 0u);
    EXPECT_LE(static_cast<double>(c), 1.25 * static_cast<double>(bytes) + 512) << bytes;
    EXPECT_GE(c, last);
    last = c;
  }
  EXPECT_EQ(cuda::CachingAllocator::size_class(5000), cuda::CachingAllocator::size_class(5100));
}
#endif

}  // namespace
