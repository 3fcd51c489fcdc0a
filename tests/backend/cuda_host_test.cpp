// Host-side checks of the CUDA backend's code that need no GPU: its convolution plan and GEMM
// transposes with the kernels' own per-element code and a naive GEMM in place of cuBLAS, the
// per-element math both backends share (pooling, optimizer rules, dropout) against the CPU
// kernels that loop over it, and the allocator's size classes.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <variant>

#include "backend/cpu/conv.h"
#include "backend/cpu/dropout.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/optim.h"
#include "backend/cpu/pool.h"
#include "backend/math/dropout.h"
#include "backend/math/pool.h"
#include "op_harness.h"
#include "train/step.h"

#ifdef KILN_WITH_CUDA
#include "backend/cuda/allocator.h"
#include "backend/cuda/conv_plan.h"
#include "backend/cuda/cublas_library.h"
#include "backend/cuda/element.h"
#endif

using namespace kiln;
using namespace kiln::testing;

namespace {

// The policy of SKIP_WITHOUT_CUDA (op_harness.h): a CUDA test skips only where no GPU is
// expected; where one is (KILN_REQUIRE_GPU=1, or the driver counts one) and the backend cannot
// start, the test fails.
TEST(BackendTestPolicy, SkipsOnlyWhereNoGpuIsExpected) {
  EXPECT_TRUE(gpu_expected("1", 0));
  EXPECT_FALSE(gpu_expected("0", 1));
  EXPECT_TRUE(gpu_expected(nullptr, 1));
  EXPECT_TRUE(gpu_expected("", 2));
  EXPECT_FALSE(gpu_expected(nullptr, 0));
  EXPECT_EQ(cuda_test_verdict("", false), CudaTestVerdict::run);
  EXPECT_EQ(cuda_test_verdict("", true), CudaTestVerdict::run);
  EXPECT_EQ(cuda_test_verdict("no CUDA device", false), CudaTestVerdict::skip);
  EXPECT_EQ(cuda_test_verdict("no CUDA device", true), CudaTestVerdict::fail);
}

// The line `kiln train --device cuda` prints after each epoch (and the manifest keeps).
TEST(GraphStats, DescribesCapturesReplaysAndWhyNot) {
  TrainStep::GraphStats s;
  s.captures = 2;
  s.forward_nodes = 14;
  s.backward_nodes = 23;
  s.replays = 930;
  s.eager_steps = 9;
  EXPECT_EQ(describe_graph_stats(s),
            "cuda graphs: 2 captures (latest: forward 14 nodes, backward 23), 930 steps replayed, 9 eager");
  s.disabled = "cudaStreamBeginCapture: not permitted";
  s.enabled = false;
  EXPECT_NE(describe_graph_stats(s).find("; switched off: cudaStreamBeginCapture"), std::string::npos);
  TrainStep::GraphStats off;
  off.enabled = false;
  off.eager_steps = 5;
  EXPECT_EQ(describe_graph_stats(off), "cuda graphs: off (KILN_CUDA_GRAPHS=0), 5 eager steps");
  TrainStep::GraphStats none;
  EXPECT_EQ(describe_graph_stats(none), "cuda graphs: 0 captures, 0 steps replayed, 0 eager");
}

TEST(BackendTestPolicy, DriverCountAgreesWithTheBackend) {
  const int reported = cuda_devices_reported();
  EXPECT_GE(reported, 0);
  if (device_available(Device::cuda)) {
    EXPECT_GT(reported, 0) << "the backend started on a GPU the driver did not count";
  }
  if (!cuda_backend_built()) {
    EXPECT_EQ(reported, 0);
  }
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
    for (int64_t i = 0; i < d.N * d.crs() * d.pq(); ++i) {
      cols[i] = cuda::im2col_at<uint32_t>(x, d, static_cast<uint32_t>(i), matrix);
      ASSERT_EQ(cols[i], cuda::im2col_at<int64_t>(x, d, i, matrix));
    }
  }
  void col2im(const float* dcols, float* dx, const ConvDims& d) {
    for (int64_t i = 0; i < d.N * d.C * d.H * d.W; ++i) dx[i] = cuda::col2im_at<int64_t>(dcols, d, i);
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
    const PoolDims& g = d;
    for (int64_t o = 0; o < out; ++o) {
      int at = -1;
      const float v = math::maxpool_at(x.data(), g, o, &at);
      ASSERT_TRUE(v == yref[static_cast<size_t>(o)] || (std::isnan(v) && std::isnan(yref[static_cast<size_t>(o)]))) << o;
      ASSERT_EQ(at, aref[static_cast<size_t>(o)]) << o;
    }
    for (int64_t i = 0; i < in; ++i)
      ASSERT_EQ(math::maxpool_grad_at(dy.data(), aref.data(), g, i), dxref[static_cast<size_t>(i)]) << i;
    if (p.nan) continue;
    const float inv = 1.0f / static_cast<float>(d.k * d.k);
    std::vector<Real> ya(static_cast<size_t>(out)), dxa(static_cast<size_t>(in));
    cpu::avgpool_forward(x.data(), ya.data(), d);
    cpu::avgpool_backward(dy.data(), dxa.data(), d);
    for (int64_t o = 0; o < out; ++o) ASSERT_EQ(math::avgpool_at(x.data(), g, o, inv), ya[static_cast<size_t>(o)]) << o;
    // The gather sums dy·inv over the covering windows in the scatter's order, but the host
    // compiler may contract either side's multiply-add into an FMA: last-bit differences only.
    std::vector<Real> dxg(static_cast<size_t>(in));
    for (int64_t i = 0; i < in; ++i) dxg[static_cast<size_t>(i)] = math::avgpool_grad_at(dy.data(), g, i, inv);
    EXPECT_LE(normwise_error(dxg, dxa), 1e-6);
  }
}

TEST(BackendCudaHost, OptimizerElementsMatchCpu) {
  Rng rng(13);
  const int64_t n = 257;
  // The rule's body applied element by element, as a GPU thread does.
  auto by_element = [&](const math::UpdateRule& rule, std::vector<Real>& theta, const std::vector<Real>& g,
                        const std::vector<Real>& mask, std::vector<Real>& s0, std::vector<Real>& s1) {
    std::visit([&](const auto& r) {
      r.template with_body<float>([&](const auto& body) {
        for (int64_t i = 0; i < n; ++i) body(theta.data(), g.data(), mask.data(), s0.data(), s1.data(), i);
      });
    }, rule);
  };
  auto run_sgd = [&](const math::SgdRule& u) {
    auto theta = uniform(n, rng), g = uniform(n, rng), v = uniform(n, rng), mask = uniform(n, rng), unused = g;
    auto theta2 = theta, v2 = v;
    cpu::optimizer_update(u, theta.data(), g.data(), mask.data(), v.data(), unused.data(), n);
    by_element(u, theta2, g, mask, v2, unused);
    EXPECT_LE(normwise_error(theta2, theta), 1e-6);
    EXPECT_LE(normwise_error(v2, v), 1e-6);
  };
  for (float mu : {0.0f, 0.9f})
    for (bool average : {false, true})
      for (bool nesterov : {false, true})
        for (bool decoupled : {false, true}) {
          math::SgdRule u;
          u.lr = 0.1f;
          u.momentum = mu;
          u.average = average;
          u.nesterov = nesterov && mu != 0;
          u.weight_decay = 0.01f;
          u.decoupled = decoupled;
          run_sgd(u);
        }
  for (bool decoupled : {false, true}) {
    math::AdamRule u;
    u.lr = 0.01f;
    u.weight_decay = 0.1f;
    u.decoupled = decoupled;
    u.bias1 = 0.271f;
    u.bias2 = 0.002997f;
    auto theta = uniform(n, rng), g = uniform(n, rng), m = uniform(n, rng), mask = uniform(n, rng);
    std::vector<Real> s(static_cast<size_t>(n));
    for (auto& v : s) v = static_cast<Real>(rng.uniform(0, 0.01));
    auto theta2 = theta, m2 = m, s2 = s;
    cpu::optimizer_update(u, theta.data(), g.data(), mask.data(), m.data(), s.data(), n);
    by_element(u, theta2, g, mask, m2, s2);
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
    ASSERT_EQ(math::dropout_scale_at(42, 7, 3000000001LL, 0.3, keep, i), ref[static_cast<size_t>(i)]) << i;
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

#ifdef KILN_WITH_CUDA
// cuBLAS is opened at run time, not linked: every entry point the backend calls is found in
// the toolkit's library (no GPU needed to open it), and the binary does not load it at start.
TEST(CudaHost, CublasOpensAtRunTimeWithEveryEntryPoint) {
  std::ifstream maps("/proc/self/maps");
  const std::string before((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
  EXPECT_EQ(before.find("libcublasLt"), std::string::npos) << "cuBLAS was loaded before first use";
  const cuda::CublasLibrary& l = cuda::cublas();
  EXPECT_TRUE(l.create && l.set_stream && l.set_workspace && l.set_math_mode && l.get_version && l.sgemm &&
              l.sgemm_strided_batched);
  EXPECT_EQ(&cuda::cublas(), &l) << "opened once";
}
#endif
