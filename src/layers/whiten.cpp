// The whitening convolution (layers/whiten.h). Backward is the convolution's dL/dx with the
// frozen filters: dX = col2im(W_matᵀ · dY_mat) (layers/conv2d.cpp); dW is not kept.
#include "layers/whiten.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "layers/registry.h"

namespace kiln {

Whiten::Whiten(int64_t in_channels, int64_t kernel_h, int64_t kernel_w, double eps)
    : Conv2d(in_channels, 2 * in_channels * kernel_h * kernel_w, kernel_h, kernel_w, 1, 0, false), eps_(eps) {
  if (!(eps_ > 0) || !std::isfinite(eps_)) throw Error("whiten: eps must be a positive number, got " + std::to_string(eps_));
}

// "whiten 2x2" or "whiten 2x2 eps=5e-4".
LayerKind Whiten::kind() {
  return {"whiten", {}, "whiten RxS [eps=5e-4]",
          [](SpecLine& s, const BuildContext& ctx) -> std::unique_ptr<Layer> {
            ctx.need_image(s);
            const auto [r, c] = s.positional_size("kernel size");
            const double eps = s.option_double("eps", 5e-4, 0, 1e6);
            return std::make_unique<Whiten>(ctx.input[1], r, c, eps);
          }};
}

std::string Whiten::spec() const {
  std::ostringstream os;
  os << "whiten " << R_ << "x" << S_;
  if (eps_ != 5e-4) os << " eps=" << eps_;
  return os.str();
}

void Whiten::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  Conv2d::backward(x, y, dy, dx);
  dweight_.zero();  // what the convolution added: no optimizer reads it, so it must not grow
}

bool Whiten::wants_data() const {
  if (weight_.device() != Device::cpu) return false;
  const Real* w = weight_.data();
  return std::all_of(w, w + weight_.numel(), [](Real v) { return v == 0; });
}

void Whiten::init_from_data(const Tensor& x) {
  const Shape out = output_shape(x.shape());  // checks the input
  const int64_t N = x.dim(0), H = x.dim(2), W = x.dim(3), P = out[2], Q = out[3];
  const int64_t d = C_ * R_ * S_;
  if (N * P * Q < d) throw Error(spec() + ": needs at least " + std::to_string(d) + " patches to whiten, got " +
                                 std::to_string(N * P * Q));
  // Σ = (1/M) Σ_patches p pᵀ over all M = N·P·Q patches p (d values each, in (c, r, s) order).
  std::vector<double> sigma(static_cast<size_t>(d * d), 0.0), patch(static_cast<size_t>(d));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < P; ++p)
      for (int64_t q = 0; q < Q; ++q) {
        int64_t j = 0;
        for (int64_t c = 0; c < C_; ++c)
          for (int64_t r = 0; r < R_; ++r)
            for (int64_t s = 0; s < S_; ++s) patch[static_cast<size_t>(j++)] = x.data()[((n * C_ + c) * H + p + r) * W + q + s];
        for (int64_t a = 0; a < d; ++a)
          for (int64_t b = 0; b <= a; ++b) sigma[static_cast<size_t>(a * d + b)] += patch[static_cast<size_t>(a)] * patch[static_cast<size_t>(b)];
      }
  const double M = static_cast<double>(N * P * Q);
  for (int64_t a = 0; a < d; ++a)
    for (int64_t b = 0; b <= a; ++b) {
      sigma[static_cast<size_t>(a * d + b)] /= M;
      sigma[static_cast<size_t>(b * d + a)] = sigma[static_cast<size_t>(a * d + b)];
    }
  std::vector<double> values, vectors;
  symmetric_eigen(sigma, d, values, vectors);
  for (int64_t i = 0; i < d; ++i) {
    const double scale = 1.0 / std::sqrt(std::max(values[static_cast<size_t>(i)], 0.0) + eps_);
    for (int64_t j = 0; j < d; ++j) {
      const auto w = static_cast<Real>(vectors[static_cast<size_t>(i * d + j)] * scale);
      weight_[i * d + j] = w;
      weight_[(d + i) * d + j] = -w;
    }
  }
}

void symmetric_eigen(std::vector<double>& a, int64_t d, std::vector<double>& values, std::vector<double>& vectors) {
  KILN_CHECK(static_cast<int64_t>(a.size()) == d * d, "symmetric_eigen: the matrix is not " << d << "x" << d);
  auto at = [&](std::vector<double>& m, int64_t i, int64_t j) -> double& { return m[static_cast<size_t>(i * d + j)]; };
  std::vector<double> v(static_cast<size_t>(d * d), 0.0);  // columns: the eigenvectors so far
  for (int64_t i = 0; i < d; ++i) at(v, i, i) = 1;
  // Each rotation in the (p, q) plane zeroes a[p][q]; sweeps until the off-diagonal is at
  // rounding level (quadratic convergence: a handful of sweeps).
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) (i == j ? diag : off) += at(a, i, j) * at(a, i, j);
    if (off <= 1e-30 * std::max(diag, 1e-300)) break;
    for (int64_t p = 0; p < d; ++p)
      for (int64_t q = p + 1; q < d; ++q) {
        const double apq = at(a, p, q);
        if (apq == 0) continue;
        // θ with tan 2θ = 2 a_pq / (a_qq - a_pp); t = tan θ, the smaller root, for stability.
        const double theta = (at(a, q, q) - at(a, p, p)) / (2 * apq);
        const double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < d; ++k) {  // A ← A J (columns p, q)
          const double akp = at(a, k, p), akq = at(a, k, q);
          at(a, k, p) = c * akp - s * akq;
          at(a, k, q) = s * akp + c * akq;
        }
        for (int64_t k = 0; k < d; ++k) {  // A ← Jᵀ A (rows p, q)
          const double apk = at(a, p, k), aqk = at(a, q, k);
          at(a, p, k) = c * apk - s * aqk;
          at(a, q, k) = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < d; ++k) {  // V ← V J
          const double vkp = at(v, k, p), vkq = at(v, k, q);
          at(v, k, p) = c * vkp - s * vkq;
          at(v, k, q) = s * vkp + c * vkq;
        }
      }
  }
  std::vector<int64_t> order(static_cast<size_t>(d));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return at(a, i, i) > at(a, j, j); });
  values.assign(static_cast<size_t>(d), 0);
  vectors.assign(static_cast<size_t>(d * d), 0);
  for (int64_t r = 0; r < d; ++r) {
    const int64_t i = order[static_cast<size_t>(r)];
    values[static_cast<size_t>(r)] = at(a, i, i);
    for (int64_t k = 0; k < d; ++k) vectors[static_cast<size_t>(r * d + k)] = at(v, k, i);
  }
}

}  // namespace kiln
