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
#include "layers/batchnorm.h"

#include <sstream>

#include "backend/ops.h"
#include "backend/ops_norm.h"
#include "layers/limits.h"
#include "layers/registry.h"

namespace kiln {

BatchNorm::BatchNorm(int64_t features, Real momentum, Real eps) : F_(features), momentum_(momentum), eps_(eps) {
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
  return {"bn", {"batchnorm"}, "bn [momentum=0.1] [eps=1e-5]",
          [](SpecLine& s, const BuildContext& ctx) -> std::unique_ptr<Layer> {
            if (ctx.input.rank() != 2 && ctx.input.rank() != 4)
              s.fail("needs (N, F) or (N, C, H, W) input, got " + ctx.input.str());
            const double m = s.option_double("momentum", 0.1), eps = s.option_double("eps", 1e-5);
            return std::make_unique<BatchNorm>(ctx.input[1], static_cast<Real>(m), static_cast<Real>(eps));
          }};
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
  return {{"gamma", &gamma_, &dgamma_, false}, {"beta", &beta_, &dbeta_, false, /*norm=*/true}};
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

}  // namespace kiln
