#include "backend/ops.h"

namespace kiln::ops {

Backend& backend_for(std::initializer_list<const Tensor*> tensors) {
  Device d = (*tensors.begin())->device();
  for (const Tensor* t : tensors)
    if (t->device() != d)
      throw Error(std::string("tensors on different devices: ") + device_name(d) + " and " +
                  device_name(t->device()));
  return backend(d);
}

static int64_t rows(const Tensor& t) { return t.rank() == 0 ? 1 : t.dim(0); }
static int64_t cols(const Tensor& t) { return t.rank() == 0 ? 1 : t.shape().per_sample(); }

void matmul(bool trans_a, bool trans_b, Real alpha, const Tensor& A, const Tensor& B, Real beta, Tensor& C) {
  Backend& be = backend_for({&A, &B, &C});
  const int64_t M = trans_a ? cols(A) : rows(A), K = trans_a ? rows(A) : cols(A);
  const int64_t KB = trans_b ? cols(B) : rows(B), N = trans_b ? rows(B) : cols(B);
  if (K != KB || rows(C) != M || cols(C) != N)
    throw Error("matmul: shapes do not agree: A " + A.shape().str() + (trans_a ? "^T" : "") + ", B " +
                B.shape().str() + (trans_b ? "^T" : "") + ", C " + C.shape().str());
  be.gemm(trans_a, trans_b, M, N, K, alpha, A.data(), cols(A), B.data(), cols(B), beta, C.data(), cols(C));
}

void add_row_bias(Tensor& Y, const Tensor& b) {
  Backend& be = backend_for({&Y, &b});
  KILN_REQUIRE(b.numel() == cols(Y), "bias of " << b.numel() << " for rows of " << cols(Y));
  be.add_row_bias(Y.data(), b.data(), rows(Y), cols(Y));
}

void accumulate_row_sum(const Tensor& dY, Tensor& db) {
  Backend& be = backend_for({&dY, &db});
  KILN_REQUIRE(db.numel() == cols(dY), "bias gradient of " << db.numel() << " for rows of " << cols(dY));
  be.accumulate_row_sum(dY.data(), db.data(), rows(dY), cols(dY));
}

void axpy(Real alpha, const Tensor& x, Tensor& y) {
  Backend& be = backend_for({&x, &y});
  check_same_shape(x, y, "axpy");
  be.axpy(alpha, x.data(), y.data(), x.numel());
}

void scale(Tensor& x, Real alpha) { backend_for({&x}).scale(x.data(), alpha, x.numel()); }

double sum_squares(const Tensor& x) { return backend_for({&x}).sum_squares(x.data(), x.numel()); }

void copy(const Tensor& src, Tensor& dst) {
  backend_for({&src, &dst});
  KILN_REQUIRE(src.numel() == dst.numel(), "copy " << src.shape().str() << " to " << dst.shape().str());
  dst.copy_from(src);
}

// Elementwise: the same element count in and out.
static Backend& elementwise(std::initializer_list<const Tensor*> ts) {
  Backend& be = backend_for(ts);
  for (const Tensor* t : ts)
    KILN_REQUIRE(t->numel() == (*ts.begin())->numel(),
               "elementwise op on " << (*ts.begin())->shape().str() << " and " << t->shape().str());
  return be;
}

void activation_forward(const math::Activation& f, const Tensor& x, Tensor& y) {
  elementwise({&x, &y}).activation_forward(f, x.data(), y.data(), x.numel());
}
void activation_backward(const math::Activation& f, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx) {
  const bool from_output = std::visit([](const auto& a) { return a.from_output; }, f);
  const Tensor& saved = from_output ? y : x;
  elementwise({&saved, &dy, &dx}).activation_backward(f, saved.data(), dy.data(), dx.data(), saved.numel());
}

double softmax_xent(const Tensor& logits, const Tensor& labels, Real smoothing, Tensor* probs, Tensor* dlogits) {
  Backend& be = backend_for({&logits, &labels});
  if (probs) check_same_shape(logits, *probs, "softmax probabilities");
  if (dlogits) check_same_shape(logits, *dlogits, "softmax gradient");
  KILN_REQUIRE(labels.numel() == rows(logits), labels.numel() << " labels for logits " << logits.shape().str());
  return be.softmax_xent(logits.data(), labels.data(), rows(logits), cols(logits), smoothing,
                         probs ? probs->data() : nullptr, dlogits ? dlogits->data() : nullptr);
}

double mse(const Tensor& y, const Tensor& target, Tensor* dy) {
  Backend& be = backend_for({&y, &target});
  check_same_shape(y, target, "mse target");
  if (dy) check_same_shape(y, *dy, "mse gradient");
  return be.mse(y.data(), target.data(), rows(y), cols(y), dy ? dy->data() : nullptr);
}

}  // namespace kiln::ops
