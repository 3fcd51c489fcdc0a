// Batch normalisation and dropout.
//
// BatchNorm, per channel over its M = N·H·W values x_1..x_M (M = N for (N, F) input):
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
// Dropout (inverted): y = x ⊙ m / (1 - p), m_i = [u_i >= p], so E[y] = x and eval is the
// identity. dL/dx = dL/dy ⊙ m / (1 - p), from the scale cached by forward.
#include "layers/batchnorm.h"

#include <sstream>

#include "backend/ops.h"
#include "backend/ops_norm.h"

namespace kiln {

BatchNorm::BatchNorm(int64_t features, Real momentum, Real eps) : F_(features), momentum_(momentum), eps_(eps) {
  if (F_ <= 0) throw Error("bn: the feature count must be positive, got " + std::to_string(F_));
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

std::string BatchNorm::spec() const {
  std::ostringstream os;
  os << "bn";
  if (momentum_ != Real(0.1)) os << " momentum=" << momentum_;
  if (eps_ != Real(1e-5)) os << " eps=" << eps_;
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
  if (pass.training()) {
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
  ops::batchnorm_backward(x, dy, mean_, rstd_, gamma_, last_mode_ == Mode::train, dx, dgamma_, dbeta_);
}

std::vector<Param> BatchNorm::params() {
  return {{"gamma", &gamma_, &dgamma_, false}, {"beta", &beta_, &dbeta_, false}};
}

std::vector<Param> BatchNorm::buffers() {
  return {{"running_mean", &running_mean_, nullptr, false}, {"running_var", &running_var_, nullptr, false}};
}

void BatchNorm::init(Rng&) {
  gamma_.fill(1);
  beta_.zero();
  running_mean_.zero();
  running_var_.fill(1);
}

Dropout::Dropout(Real p, uint64_t stream) : p_(p), stream_(stream) {
  if (!(p_ >= 0 && p_ < 1)) throw Error("dropout: the probability must be in [0, 1), got " + std::to_string(p_));
}

std::string Dropout::spec() const {
  std::ostringstream os;
  os << "dropout " << p_;
  return os.str();
}

void Dropout::forward(const Tensor& x, Tensor& y, const Pass& pass) {
  masked_ = pass.training() && p_ > 0;
  if (!masked_) {
    ops::copy(x, y);
    return;
  }
  scale_.ensure(x.shape(), x.device());
  ops::dropout_mask(pass.seed, stream_, pass.step, p_, scale_);
  ops::dropout_apply(x, scale_, y);
}

void Dropout::backward(const Tensor&, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (!dx) return;
  if (masked_)
    ops::dropout_apply(dy, scale_, *dx);
  else
    ops::copy(dy, *dx);
}

}  // namespace kiln
