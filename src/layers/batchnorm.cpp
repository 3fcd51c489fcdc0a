// Batch normalisation, per channel over its M = N·H·W values x_1..x_M (M = N for (N, F) input):
//     μ = (1/M) Σ x_j,   σ² = (1/M) Σ (x_j - μ)²,   r = (σ² + ε)^(-1/2)
//     x̂_i = (x_i - μ) r,   y_i = γ x̂_i + β
// Backward, with g_i = dL/dy_i:
//     dL/dβ = Σ g_i,   dL/dγ = Σ g_i x̂_i,   dL/dx̂_i = γ g_i
// In training μ and σ² depend on every x_j. With ∂μ/∂x_j = 1/M, ∂σ²/∂x_j = 2(x_j - μ)/M (the
// μ-term vanishes since Σ (x_i - μ) = 0) and ∂r/∂σ² = -r³/2:
//     ∂x̂_i/∂x_j = r (δ_ij - 1/M) - (x_i - μ) r³ (x_j - μ)/M = (r/M)(M δ_ij - 1 - x̂_i x̂_j)
// so
//     dL/dx_j = Σ_i γ g_i ∂x̂_i/∂x_j = (γ r / M) (M g_j - Σ_i g_i - x̂_j Σ_i g_i x̂_i).
// In eval μ, r are the running statistics, constants: dL/dx_j = γ r g_j.
// Running statistics (PyTorch): running = (1 - m) running + m batch, the variance unbiased
// (σ² M/(M-1)), which is what the eval path should estimate.
//
// Synchronised (train.sync_bn, a BatchSync in the Pass): the M values of a channel are spread
// over replicas, replica r holding M_r of them with mean μ_r and biased variance σ²_r. Then
//     μ = Σ_r M_r μ_r / M,   σ² = Σ_r M_r (σ²_r + (μ_r - μ)²) / M      (M = Σ_r M_r)
// (two sums over the replicas, the second after μ is known, so no cancellation), and y is the
// eval-form kernel's (x - μ) γ r + β with these. Backward needs Σ g_i and Σ g_i x̂_i over all M;
// with replica r's own dy = g/w_r (its loss weighted w_r in the global one, batch_sync.h) and
// G1, G2 those sums in its units, dL/dx_j in its units is
//     dx_j = γ r (dy_j - (G1 + x̂_j G2) / M),
// computed with the existing kernels: t = x̂ (G2/M) + G1/M is the eval-form forward with scale
// G2/M and shift G1/M, and γ r (dy - t) the eval-form backward of dy - t.
#include "layers/batchnorm.h"

#include <sstream>

#include "backend/ops.h"
#include "backend/ops_norm.h"
#include "layers/batch_sync.h"
#include "layers/limits.h"
#include "layers/registry.h"

namespace kiln {

BatchNorm::BatchNorm(int64_t features, Real momentum, Real eps, bool trained_scale)
    : F_(features), momentum_(momentum), eps_(eps), trained_scale_(trained_scale) {
  check_range("bn", "the feature count", F_, 1, kMaxFeatures);
  if (!(momentum_ >= 0 && momentum_ <= 1)) throw Error("bn: momentum must be in [0, 1], got " + std::to_string(momentum_));
  if (!(eps_ > 0)) throw Error("bn: eps must be positive, got " + std::to_string(eps_));
  gamma_ = Tensor({F_});
  dgamma_ = Tensor({F_});
  beta_ = Tensor({F_});
  dbeta_ = Tensor({F_});
  running_mean_ = Tensor({F_});
  running_var_ = Tensor({F_});
  mean_ = Tensor({F_});
  var_ = Tensor({F_});
  rstd_ = Tensor({F_});
  gamma_.fill(1);
  running_var_.fill(1);
}

LayerKind BatchNorm::kind() {
  return {"bn", {"batchnorm"}, "bn [momentum=0.1] [eps=1e-5] [scale=true]",
          [](SpecLine& s, const BuildContext& ctx) -> std::unique_ptr<Layer> {
            if (ctx.input.rank() != 2 && ctx.input.rank() != 4)
              s.fail("needs (N, F) or (N, C, H, W) input, got " + ctx.input.str());
            const double m = s.option_double("momentum", 0.1), eps = s.option_double("eps", 1e-5);
            const bool scale = s.option_bool("scale", true);
            return std::make_unique<BatchNorm>(ctx.input[1], static_cast<Real>(m), static_cast<Real>(eps), scale);
          }};
}

std::string BatchNorm::spec() const {
  std::ostringstream os;
  os << "bn";
  if (momentum_ != Real(0.1)) os << " momentum=" << momentum_;
  if (eps_ != Real(1e-5)) os << " eps=" << eps_;
  if (!trained_scale_) os << " scale=false";
  return os.str();
}

Shape BatchNorm::output_shape(const Shape& in) const {
  if ((in.rank() != 2 && in.rank() != 4) || in[1] != F_)
    throw Error("bn: expects (N, " + std::to_string(F_) + ") or (N, " + std::to_string(F_) +
                ", H, W) input, got " + in.str());
  return in;
}

void BatchNorm::forward(const Tensor& x, Tensor& y, const Pass& pass) {
  output_shape(x.shape());
  sync_ = pass.training() ? pass.sync : nullptr;
  if (sync_) {
    forward_synced(x, y, *sync_);
    last_mode_ = Mode::train;
  } else if (pass.training()) {
    const int64_t M = x.numel() / F_;
    if (M < 2)
      throw Error("bn: training needs more than one value per channel to estimate a variance, got input " +
                  x.shape().str() + " (use a batch larger than 1)");
    ops::batchnorm_forward_train(x, gamma_, beta_, eps_, y, mean_, var_, rstd_);
    ops::batchnorm_update_running(mean_, var_, M, momentum_, running_mean_, running_var_);
    last_mode_ = Mode::train;
  } else {
    ops::batchnorm_forward_eval(x, gamma_, beta_, running_mean_, running_var_, eps_, y, rstd_);
    ops::copy(running_mean_, mean_);
    last_mode_ = Mode::eval;
  }
}

void BatchNorm::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (sync_) return backward_synced(x, dy, dx);
  ops::batchnorm_backward(x, dy, mean_, rstd_, gamma_, last_mode_ == Mode::train, dx, dgamma_, dbeta_);
}

namespace {

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<Real> h(static_cast<size_t>(t.numel()));
  t.copy_to_host(h.data());
  return {h.begin(), h.end()};
}

void from_doubles(const double* v, Tensor& t) {
  std::vector<Real> h(v, v + t.numel());
  t.copy_from_host(h.data());
}

}  // namespace

void BatchNorm::forward_synced(const Tensor& x, Tensor& y, BatchSync& sync) {
  const int64_t local = x.numel() / F_;
  const auto F = static_cast<size_t>(F_);
  // This replica's μ_r, σ²_r (y is written again below, with the global statistics).
  if (local > 0) ops::batchnorm_forward_train(x, gamma_, beta_, eps_, y, mean_, var_, rstd_);
  const std::vector<double> mu_r = to_doubles(mean_), var_r = to_doubles(var_);
  std::vector<double> s(F + 1);
  for (size_t c = 0; c < F; ++c) s[c] = local > 0 ? static_cast<double>(local) * mu_r[c] : 0;
  s[F] = static_cast<double>(local);
  sync.sum(s.data(), static_cast<int64_t>(s.size()));
  const double M = s[F];
  global_count_ = static_cast<int64_t>(M);
  if (global_count_ < 2)
    throw Error("bn: training needs more than one value per channel to estimate a variance, got " +
                std::to_string(global_count_) + " over all ranks (use a batch larger than 1)");
  std::vector<double> q(F);
  for (size_t c = 0; c < F; ++c) {
    s[c] /= M;
    const double d = mu_r[c] - s[c];
    q[c] = local > 0 ? static_cast<double>(local) * (var_r[c] + d * d) : 0;
  }
  sync.sum(q.data(), static_cast<int64_t>(q.size()));
  for (double& v : q) v /= M;
  from_doubles(s.data(), mean_);
  from_doubles(q.data(), var_);
  ops::batchnorm_forward_eval(x, gamma_, beta_, mean_, var_, eps_, y, rstd_);
  ops::batchnorm_update_running(mean_, var_, global_count_, momentum_, running_mean_, running_var_);
}

void BatchNorm::backward_synced(const Tensor& x, const Tensor& dy, Tensor* dx) {
  const Device dev = x.device();
  for (Tensor* t : {&sum_dgamma_, &sum_dbeta_, &coef_scale_, &coef_shift_}) t->ensure(Shape{F_}, dev);
  sum_dgamma_.zero();
  sum_dbeta_.zero();
  // This replica's Σ dy x̂ and Σ dy; they are also its share of dγ and dβ (the trainer sums
  // parameter gradients over the replicas, weighted, as for every other parameter).
  ops::batchnorm_backward(x, dy, mean_, rstd_, gamma_, /*batch_stats=*/true, nullptr, sum_dgamma_, sum_dbeta_);
  ops::axpy(1, sum_dgamma_, dgamma_);
  ops::axpy(1, sum_dbeta_, dbeta_);
  const auto F = static_cast<size_t>(F_);
  std::vector<double> g = to_doubles(sum_dbeta_), g2 = to_doubles(sum_dgamma_);
  g.insert(g.end(), g2.begin(), g2.end());  // [G1 (F), G2 (F)]
  sync_->sum_gradients(g.data(), static_cast<int64_t>(g.size()));
  if (!dx) return;
  const double M = static_cast<double>(global_count_);
  for (double& v : g) v /= M;
  from_doubles(g.data(), coef_shift_);
  from_doubles(g.data() + F, coef_scale_);
  t_.ensure(x.shape(), dev);
  u_.ensure(x.shape(), dev);
  ops::batchnorm_forward_eval(x, coef_scale_, coef_shift_, mean_, var_, eps_, t_, rstd_);  // t = x̂ G2/M + G1/M
  ops::copy(dy, u_);
  ops::axpy(-1, t_, u_);
  ops::batchnorm_backward(x, u_, mean_, rstd_, gamma_, /*batch_stats=*/false, dx, sum_dgamma_, sum_dbeta_);
}

// A fixed γ (scale=false) is a buffer: the optimizer never sees it; its gradient is computed by
// the shared kernel and dropped.
std::vector<Param> BatchNorm::params() {
  if (!trained_scale_) return {{"beta", &beta_, &dbeta_, false, /*norm=*/true}};
  return {{"gamma", &gamma_, &dgamma_, false}, {"beta", &beta_, &dbeta_, false, /*norm=*/true}};
}

std::vector<Param> BatchNorm::buffers() {
  std::vector<Param> b{{"running_mean", &running_mean_, nullptr, false, false, /*running=*/true},
                       {"running_var", &running_var_, nullptr, false, false, /*running=*/true}};
  if (!trained_scale_) b.insert(b.begin(), {"gamma", &gamma_, nullptr, false});
  return b;
}

void BatchNorm::init(Rng&) {
  gamma_.fill(1);
  beta_.zero();
  running_mean_.zero();
  running_var_.fill(1);
}

}  // namespace kiln
