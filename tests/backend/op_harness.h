#pragma once
// The harness of the op suite that runs on every backend (ops_test.cpp; the cases in
// op_cases.cpp): what a case sees (OpContext), what it declares (OpCase), and how results are
// compared (normwise_error). Shared by the CUDA tests of this folder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "tensor/buffer.h"
#include "tensor/rng.h"

namespace kiln::testing {

// Why the CUDA backend cannot be tested here ("" when it can).
inline std::string cuda_skip_reason() {
  if (!cuda_backend_built()) return "built without CUDA: CUDA backend not tested";
  if (!device_available(Device::cuda)) return "no CUDA device: CUDA backend not tested";
  return "";
}

// Whether a GPU is expected, so that a CUDA test that cannot start the backend fails instead of
// skipping: KILN_REQUIRE_GPU=1 says so (=0 says not, whatever the driver reports); unset, a
// GPU is expected where the CUDA driver reports one (`reported`, cuda_devices_reported()).
inline bool gpu_expected(const char* require_env, int reported) {
  if (require_env && *require_env) return std::string(require_env) != "0";
  return reported > 0;
}
inline bool gpu_expected() { return gpu_expected(std::getenv("KILN_REQUIRE_GPU"), cuda_devices_reported()); }

enum class CudaTestVerdict { run, skip, fail };
inline CudaTestVerdict cuda_test_verdict(const std::string& skip_reason, bool expected) {
  if (skip_reason.empty()) return CudaTestVerdict::run;
  return expected ? CudaTestVerdict::fail : CudaTestVerdict::skip;
}

// At the start of a CUDA test: runs it where the backend starts; elsewhere skips it, or fails
// it where a GPU is expected (gpu_expected()).
#define SKIP_WITHOUT_CUDA()                                                                           \
  do {                                                                                                \
    const std::string skip_why_ = ::kiln::testing::cuda_skip_reason();                                \
    switch (::kiln::testing::cuda_test_verdict(skip_why_, ::kiln::testing::gpu_expected())) {         \
      case ::kiln::testing::CudaTestVerdict::run: break;                                              \
      case ::kiln::testing::CudaTestVerdict::skip: GTEST_SKIP() << skip_why_;                         \
      case ::kiln::testing::CudaTestVerdict::fail:                                                    \
        GTEST_FAIL() << skip_why_ << ", but a GPU is expected here (KILN_REQUIRE_GPU="                \
                     << (std::getenv("KILN_REQUIRE_GPU") ? std::getenv("KILN_REQUIRE_GPU") : "(unset)") \
                     << ", the CUDA driver reports " << ::kiln::cuda_devices_reported() << " GPUs)";  \
    }                                                                                                 \
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
inline double normwise_error(const std::vector<double>& got, const std::vector<double>& ref) {
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

inline std::string sanitize(const std::string& s) {
  std::string out;
  for (char ch : s) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return out;
}


// The convolution and pooling shapes the suite and the host checks run.
struct ConvCase {
  int64_t N, C, H, W, K, R, S, stride, pad;
  bool bias, relu, small_workspace;
};

inline std::string conv_name(const ConvCase& k) {
  return "N" + std::to_string(k.N) + "_C" + std::to_string(k.C) + "_" + std::to_string(k.H) + "x" + std::to_string(k.W) +
         "_K" + std::to_string(k.K) + "_" + std::to_string(k.R) + "x" + std::to_string(k.S) + "_s" +
         std::to_string(k.stride) + "_p" + std::to_string(k.pad) + (k.bias ? "_bias" : "") + (k.relu ? "_relu" : "") +
         (k.small_workspace ? "_chunked" : "");
}

inline const std::vector<ConvCase> kConvs = {
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

struct PoolCase {
  int64_t N, C, H, W, k, stride;
  bool nan;
};
inline const std::vector<PoolCase> kPools = {{2, 3, 7, 7, 2, 2, false}, {1, 4, 9, 9, 3, 2, false}, {2, 2, 6, 5, 3, 1, false},
                                      {1, 1, 4, 4, 2, 2, true}, {3, 2, 8, 8, 2, 2, false}};

// Every case of the suite (op_cases.cpp).
const std::vector<OpCase>& all_cases();

// The vector overloads used by the host checks.
inline double normwise_error(const std::vector<float>& got, const std::vector<float>& ref) {
  return normwise_error(std::vector<double>(got.begin(), got.end()), std::vector<double>(ref.begin(), ref.end()));
}

inline std::vector<Real> uniform(int64_t n, Rng& rng) {
  std::vector<Real> v(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (auto& x : v) x = static_cast<Real>(rng.uniform(-1, 1));
  return v;
}

}  // namespace kiln::testing
