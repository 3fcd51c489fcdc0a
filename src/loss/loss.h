#pragma once
// Losses sit at the end of a model: they turn the output and the targets into a scalar and
// dL/d(output). They are not layers (they take targets), and the trainer only sees this
// interface.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace kiln {

struct Targets {
  std::span<const int32_t> labels;  // class indices, one per sample
  const Tensor* values = nullptr;   // or regression targets shaped like the output
};

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string spec() const = 0;
  // Mean loss over the batch; writes dL/d(out) into *dout (sized like out) when non-null.
  virtual double forward_backward(const Tensor& out, const Targets& targets, Tensor* dout) = 0;
};

// L = -(1/N) Σ_n Σ_k q_nk log softmax(z_n)_k with q = (1-ε) onehot + ε/K; dL/dz = (p - q)/N.
class SoftmaxCrossEntropy : public Loss {
 public:
  explicit SoftmaxCrossEntropy(Real label_smoothing = 0);
  std::string spec() const override;
  double forward_backward(const Tensor& out, const Targets& targets, Tensor* dout) override;
  const Tensor& probs() const { return probs_; }  // softmax of the last call

 private:
  Real smoothing_;
  Tensor probs_;
  Tensor labels_;                 // the targets as Real on the output's device
  std::vector<Real> host_labels_;
};

// L = (1/N) Σ_n ½ ||y_n - t_n||²; dL/dy = (y - t)/N. With labels instead of values the target
// is their one-hot encoding.
class MSE : public Loss {
 public:
  std::string spec() const override { return "mse"; }
  double forward_backward(const Tensor& out, const Targets& targets, Tensor* dout) override;

 private:
  Tensor onehot_;
  std::vector<Real> host_onehot_;
};

// "softmax_xent", "softmax_xent smoothing=0.1", "mse" (aliases: "cross_entropy", "xent").
std::unique_ptr<Loss> make_loss(const std::string& spec);
// The names make_loss knows.
const std::vector<std::string>& loss_names();

}  // namespace kiln
