#pragma once
// Batch statistics over the replicas of a data-parallel step (train.sync_bn): what batch norm
// asks of the ranks it does not see. The trainer installs one through Pass for training
// passes; a layer sees this interface only, never a communicator (layers/ include no dist/).
//
// Replica r holds n_r of the global batch's m samples, and its backward pass computes
// gradients of its own loss ℓ_r (a mean over its n_r samples); the global loss is
// L = Σ_r w_r ℓ_r with w_r = n_r / m. Every replica enters every call in the same order.
#include <cstdint>

namespace kiln {

class BatchSync {
 public:
  virtual ~BatchSync() = default;
  // x[i] = Σ over the replicas of x[i], the same bits on each (forward: counts and sums).
  virtual void sum(double* x, int64_t n) = 0;
  // x[i] holds a sum of dℓ_r/dy terms over this replica's samples; makes it the sum over the
  // whole global batch of dL/dy terms, expressed in this replica's units (divided by w_self):
  //   x[i] = (Σ_r w_r x_r[i]) / w_self,
  // so that backward can go on computing dℓ_r/dx, as the unsynchronised layer does.
  virtual void sum_gradients(double* x, int64_t n) = 0;
};

}  // namespace kiln
