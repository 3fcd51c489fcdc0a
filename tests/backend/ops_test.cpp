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
// GTEST_SKIP() without a GPU. The harness is in op_harness.h, the cases in op_cases.cpp; the
// whole-network tests on the GPU in cuda_test.cpp, the host checks of CUDA code in
// cuda_host_test.cpp.
#include <gtest/gtest.h>

#include "op_harness.h"

#ifdef KILN_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

using namespace kiln;
using namespace kiln::testing;

namespace {

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

}  // namespace
