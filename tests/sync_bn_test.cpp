// Batch norm synchronised across replicas (train.sync_bn): replicas holding shards of a batch,
// run as threads (thread_ranks.h), compute together what one layer computes on the whole batch:
// the same output, the same running statistics, dL/dx in each replica's units, and parameter
// gradients that sum, weighted, to the whole batch's. Without the sync the outputs differ (the
// comparison can fail).
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "backend/runtime.h"
#include "layers/batch_sync.h"
#include "layers/batchnorm.h"
#include "thread_ranks.h"

using namespace kiln;

namespace {

// A replica's BatchSync over a communicator, its loss weighted w in the global loss (the
// trainer's TrainStep::RankSync does the same over MPI).
struct CommSync final : BatchSync {
  Comm& comm;
  double w;
  CommSync(Comm& c, double weight) : comm(c), w(weight) {}
  void sum(double* x, int64_t n) override { comm.sum(x, n); }
  void sum_gradients(double* x, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) x[i] *= w;
    comm.sum(x, n);
    for (int64_t i = 0; i < n; ++i) x[i] /= w;
  }
};

Tensor rows(const Tensor& t, int64_t from, int64_t to) {
  const int64_t per = t.shape().per_sample();
  Tensor out(t.shape().unbatched().batched(to - from));
  for (int64_t i = 0; i < out.numel(); ++i) out[i] = t[from * per + i];
  return out;
}

void set_affine(BatchNorm& bn) {
  auto p = bn.params();
  for (int64_t c = 0; c < p[0].value->numel(); ++c) {
    (*p[0].value)[c] = static_cast<Real>(0.5 + 0.25 * static_cast<double>(c));   // gamma
    (*p[1].value)[c] = static_cast<Real>(0.1 * static_cast<double>(c) - 0.2);    // beta
  }
}

struct Outcome {
  std::vector<Real> y, dx, running;   // the rows of this shard; running mean then var
  std::vector<double> dgamma, dbeta;  // weighted by the shard's share
};

// One BatchNorm over rows [from, to) of x, with the sync when given, dy = dL/dy of the rows
// over w (the replica's own loss's gradient).
Outcome run_bn(const Tensor& x, const Tensor& dy_global, int64_t from, int64_t to, double w, BatchSync* sync) {
  const int64_t F = x.dim(1);
  BatchNorm bn(F);
  set_affine(bn);
  const Tensor xs = rows(x, from, to);
  Tensor dy = rows(dy_global, from, to);
  for (int64_t i = 0; i < dy.numel(); ++i) dy[i] = static_cast<Real>(dy[i] / w);
  Tensor y(xs.shape()), dx(xs.shape());
  Pass pass{Mode::train, 1, 0};
  pass.sync = sync;
  bn.forward(xs, y, pass);
  bn.backward(xs, y, dy, &dx);
  Outcome o;
  o.y.assign(y.data(), y.data() + y.numel());
  for (int64_t i = 0; i < dx.numel(); ++i) o.dx.push_back(static_cast<Real>(dx[i] * w));
  for (const auto& b : bn.buffers()) o.running.insert(o.running.end(), b.value->data(), b.value->data() + F);
  auto p = bn.params();
  for (int64_t c = 0; c < F; ++c) {
    o.dgamma.push_back(w * (*p[0].grad)[c]);
    o.dbeta.push_back(w * (*p[1].grad)[c]);
  }
  return o;
}

void expect_near_all(const std::vector<Real>& got, const std::vector<Real>& ref, size_t at, double tol, const char* what) {
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], ref[at + i], tol) << what << " at " << at + i;
}

// Shards of x's rows: [0, 2), [2, 4), [4, 7) for 3 replicas of 7 (unequal on purpose).
std::vector<int64_t> cuts(int64_t n, int replicas) {
  std::vector<int64_t> c;
  for (int r = 0; r <= replicas; ++r) c.push_back(n * r / replicas);
  return c;
}

void check_replicas_match_one_layer(const Shape& shape, int replicas, bool sync) {
  set_threads(1);
  Rng rng(7);
  Tensor x(shape), dy(shape);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.uniform(-1, 3) + 0.5 * static_cast<double>(i % 5));
  for (int64_t i = 0; i < dy.numel(); ++i) dy[i] = static_cast<Real>(rng.uniform(-1, 1));
  const int64_t N = shape[0], per = shape.per_sample();
  const Outcome one = run_bn(x, dy, 0, N, 1, nullptr);
  const std::vector<int64_t> c = cuts(N, replicas);
  std::vector<Outcome> parts(static_cast<size_t>(replicas));
  kiln::testing::ThreadRanks group(replicas);
  group.run([&](Comm& comm) {
    const int r = comm.rank();
    const double w = static_cast<double>(c[r + 1] - c[r]) / static_cast<double>(N);
    CommSync s(comm, w);
    parts[static_cast<size_t>(r)] = run_bn(x, dy, c[r], c[r + 1], w, sync ? &s : nullptr);
  });
  std::vector<double> dgamma(one.dgamma.size(), 0.0), dbeta(one.dbeta.size(), 0.0);
  for (int r = 0; r < replicas; ++r) {
    const Outcome& p = parts[static_cast<size_t>(r)];
    const auto at = static_cast<size_t>(c[r] * per);
    expect_near_all(p.y, one.y, at, 2e-5, "y");
    expect_near_all(p.dx, one.dx, at, 2e-5, "dx");
    expect_near_all(p.running, one.running, 0, 2e-6, "running statistics");
    for (size_t k = 0; k < dgamma.size(); ++k) {
      dgamma[k] += p.dgamma[k];
      dbeta[k] += p.dbeta[k];
    }
  }
  for (size_t k = 0; k < dgamma.size(); ++k) {
    EXPECT_NEAR(dgamma[k], one.dgamma[k], 2e-5) << k;
    EXPECT_NEAR(dbeta[k], one.dbeta[k], 2e-5) << k;
  }
}

}  // namespace

TEST(SyncBatchNorm, ReplicasComputeWhatOneLayerComputesOnTheWholeBatch) {
  for (int replicas : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(replicas) + " replicas");
    check_replicas_match_one_layer(Shape{7, 3, 2, 2}, replicas, true);  // channels of images
    check_replicas_match_one_layer(Shape{7, 5}, replicas, true);        // features
  }
}

// Each replica normalising its own shard (the default) is another computation: the check above
// sees the difference.
TEST(SyncBatchNorm, WithoutTheSyncShardsDiffer) {
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &failures);
    check_replicas_match_one_layer(Shape{7, 3, 2, 2}, 2, false);
  }
  ASSERT_GT(failures.size(), 0) << "the per-shard statistics passed for the global ones";
  EXPECT_NE(std::string(failures.GetTestPartResult(0).message()).find("y at"), std::string::npos);
}
