#pragma once
// The one dispatch point between layers and kernels (STYLE.md #5): layers call kiln::ops on
// tensors; each op checks shapes, picks the backend of the tensors' device (backend.h) and
// calls its kernel on the raw buffers.
//
// Conventions: a tensor handed to an op as a matrix is read as [dim(0), numel / dim(0)]
// (N-first: one row per sample). Ops that say "accumulate" add into their output.
#include "backend/backend.h"
#include "tensor/tensor.h"

namespace kiln::ops {

// The backend of the device all the given tensors live on; throws if they disagree or if this
// build has no backend for it.
Backend& backend_for(std::initializer_list<const Tensor*> tensors);

// C = alpha * op(A) op(B) + beta * C with A, B, C read as matrices.
void matmul(bool trans_a, bool trans_b, Real alpha, const Tensor& A, const Tensor& B, Real beta,
            Tensor& C);

// Y[n, j] += b[j] for Y read as a matrix [N, F].
void add_row_bias(Tensor& Y, const Tensor& b);
// db[j] += sum_n dY[n, j]  (the gradient of a row bias: dL/db = dL/dY^T 1).
void accumulate_row_sum(const Tensor& dY, Tensor& db);

// y += alpha * x
void axpy(Real alpha, const Tensor& x, Tensor& y);
// x *= alpha
void scale(Tensor& x, Real alpha);
// Σ x² (in double), on the host.
double sum_squares(const Tensor& x);
void copy(const Tensor& src, Tensor& dst);

// y = f(x) elementwise (math/activations.h).
void activation_forward(const math::Activation& f, const Tensor& x, Tensor& y);
// dx = dy ⊙ f'(x), from x or y as the activation needs.
void activation_backward(const math::Activation& f, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx);

}  // namespace kiln::ops

namespace kiln::ops {

// Softmax cross-entropy of logits (N, K) against labels (N class indices held as Real, in
// [0, K), on the logits' device); see cpu/loss.h. probs and dlogits may be null. Returns the
// mean loss.
double softmax_xent(const Tensor& logits, const Tensor& labels, Real smoothing, Tensor* probs, Tensor* dlogits);
// ½ squared error, mean over the batch; dy may be null.
double mse(const Tensor& y, const Tensor& target, Tensor* dy);

}  // namespace kiln::ops
