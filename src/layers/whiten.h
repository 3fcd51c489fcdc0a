#pragma once
#include <vector>

#include "layers/conv2d.h"

namespace kiln {

// A frozen R×S convolution (stride 1, no padding, no bias) whose filters whiten the input's
// patches, the first layer of Keller Jordan's airbench (after hlb-cifar10). With
// Σ = V Λ Vᵀ the second-moment matrix of the patches of a batch of training inputs (d = C·R·S
// dimensions; the inputs are normalised, so it is close to their covariance), filter i is
// v_i / √(λ_i + ε) and filter d + i is its negative: the 2d output channels are each patch's
// coordinates in the eigenbasis, of unit variance, in both signs (so that an activation after it
// keeps both halves). Its filters are set by init_from_data() and never trained: they are
// buffers (saved and loaded with the model, not in the optimizer's parameters). Until then
// they are zero.
class Whiten : public Conv2d {
 public:
  Whiten(int64_t in_channels, int64_t kernel_h, int64_t kernel_w, double eps = 5e-4);
  static LayerKind kind();
  std::string spec() const override;
  std::vector<Param> params() override { return {}; }
  std::vector<Param> buffers() override { return {{"weight", &weight_, nullptr, false}}; }
  void init(Rng&) override {}
  // dL/dx only (the filters are not trained).
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  // Until its filters are set (all zero: a fresh layer); a model whose weights were loaded, or
  // trained and fitted again, keeps them.
  bool wants_data() const override;
  void init_from_data(const Tensor& x) override;

 private:
  double eps_;
};

// The eigen-decomposition of a symmetric d×d matrix a (row-major, overwritten) by cyclic Jacobi
// rotations: eigenvalues in descending order into `values`, the matching unit eigenvectors as
// the rows of `vectors` (d×d). Fine for the small d of patches (12 for 3×2×2).
void symmetric_eigen(std::vector<double>& a, int64_t d, std::vector<double>& values, std::vector<double>& vectors);

}  // namespace kiln
