#include "backend/ops.h"

#include <cstring>

#include "backend/cpu/activation.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/loss.h"

namespace kiln::ops {

Device backend_for(std::initializer_list<const Tensor*> tensors) {
  Device d = (*tensors.begin())->device();
  for (const Tensor* t : tensors)
    if (t->device() != d)
      throw Error(std::string("tensors on different devices: ") + device_name(d) + " and " +
                  device_name(t->device()));
  if (d != Device::cpu) throw Error("kiln was built without the CUDA backend");
  return d;
}

static int64_t rows(const Tensor& t) { return t.rank() == 0 ? 1 : t.dim(0); }
static int64_t cols(const Tensor& t) { return t.rank() == 0 ? 1 : t.shape().per_sample(); }

void matmul(bool trans_a, bool trans_b, Real alpha, const Tensor& A, const Tensor& B, Real beta,
            Tensor& C) {
  backend_for({&A, &B, &C});
  const int64_t M = trans_a ? cols(A) : rows(A), K = trans_a ? rows(A) : cols(A);
  const int64_t KB = trans_b ? cols(B) : rows(B), N = trans_b ? rows(B) : cols(B);
  if (K != KB || rows(C) != M || cols(C) != N)
    throw Error("matmul: shapes do not agree: A " + A.shape().str() + (trans_a ? "^T" : "") +
                ", B " + B.shape().str() + (trans_b ? "^T" : "") + ", C " + C.shape().str());
  cpu::gemm(trans_a, trans_b, M, N, K, alpha, A.data(), cols(A), B.data(), cols(B), beta, C.data(),
            cols(C));
}

void add_row_bias(Tensor& Y, const Tensor& b) {
  backend_for({&Y, &b});
  const int64_t N = rows(Y), F = cols(Y);
  KILN_CHECK(b.numel() == F, "bias of " << b.numel() << " for rows of " << F);
  Real* y = Y.data();
  const Real* bb = b.data();
#pragma omp parallel for if (N * F > (1 << 16))
  for (int64_t n = 0; n < N; ++n)
#pragma omp simd
    for (int64_t j = 0; j < F; ++j) y[n * F + j] += bb[j];
}

void accumulate_row_sum(const Tensor& dY, Tensor& db) {
  backend_for({&dY, &db});
  const int64_t N = rows(dY), F = cols(dY);
  KILN_CHECK(db.numel() == F, "bias gradient of " << db.numel() << " for rows of " << F);
  const Real* g = dY.data();
  Real* out = db.data();
  for (int64_t n = 0; n < N; ++n)
#pragma omp simd
    for (int64_t j = 0; j < F; ++j) out[j] += g[n * F + j];
}

void axpy(Real alpha, const Tensor& x, Tensor& y) {
  backend_for({&x, &y});
  check_same_shape(x, y, "axpy");
  const Real* a = x.data();
  Real* b = y.data();
  const int64_t n = x.numel();
#pragma omp parallel for simd if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) b[i] += alpha * a[i];
}

void copy(const Tensor& src, Tensor& dst) {
  backend_for({&src, &dst});
  KILN_CHECK(src.numel() == dst.numel(), "copy " << src.shape().str() << " to " << dst.shape().str());
  if (src.data() != dst.data())
    std::memcpy(dst.data(), src.data(), static_cast<size_t>(src.numel()) * sizeof(Real));
}

void relu_forward(const Tensor& x, Tensor& y) {
  backend_for({&x, &y});
  cpu::relu_forward(x.data(), y.data(), x.numel());
}
void relu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) {
  backend_for({&x, &dy, &dx});
  cpu::relu_backward(x.data(), dy.data(), dx.data(), x.numel());
}
void leaky_relu_forward(const Tensor& x, Tensor& y, Real slope) {
  backend_for({&x, &y});
  cpu::leaky_relu_forward(x.data(), y.data(), x.numel(), slope);
}
void leaky_relu_backward(const Tensor& x, const Tensor& dy, Tensor& dx, Real slope) {
  backend_for({&x, &dy, &dx});
  cpu::leaky_relu_backward(x.data(), dy.data(), dx.data(), x.numel(), slope);
}
void tanh_forward(const Tensor& x, Tensor& y) {
  backend_for({&x, &y});
  cpu::tanh_forward(x.data(), y.data(), x.numel());
}
void tanh_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  backend_for({&y, &dy, &dx});
  cpu::tanh_backward(y.data(), dy.data(), dx.data(), y.numel());
}
void sigmoid_forward(const Tensor& x, Tensor& y) {
  backend_for({&x, &y});
  cpu::sigmoid_forward(x.data(), y.data(), x.numel());
}
void sigmoid_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  backend_for({&y, &dy, &dx});
  cpu::sigmoid_backward(y.data(), dy.data(), dx.data(), y.numel());
}


double softmax_xent(const Tensor& logits, const int32_t* labels, Real smoothing, Tensor* probs, Tensor* dlogits) {
  backend_for({&logits});
  if (probs) check_same_shape(logits, *probs, "softmax probabilities");
  if (dlogits) check_same_shape(logits, *dlogits, "softmax gradient");
  const int64_t N = rows(logits), K = cols(logits);
  for (int64_t n = 0; n < N; ++n)
    if (labels[n] < 0 || labels[n] >= K)
      throw Error("label " + std::to_string(labels[n]) + " of sample " + std::to_string(n) + " is outside [0, " +
                  std::to_string(K) + ")");
  return cpu::softmax_xent(logits.data(), labels, N, K, smoothing, probs ? probs->data() : nullptr,
                           dlogits ? dlogits->data() : nullptr);
}

double mse(const Tensor& y, const Tensor& target, Tensor* dy) {
  backend_for({&y, &target});
  check_same_shape(y, target, "mse target");
  if (dy) check_same_shape(y, *dy, "mse gradient");
  return cpu::mse(y.data(), target.data(), rows(y), cols(y), dy ? dy->data() : nullptr);
}

}  // namespace kiln::ops
