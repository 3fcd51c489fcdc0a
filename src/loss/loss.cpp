#include "loss/loss.h"

#include <sstream>

#include "backend/ops.h"
#include "layers/spec.h"

namespace kiln {

SoftmaxCrossEntropy::SoftmaxCrossEntropy(Real label_smoothing) : smoothing_(label_smoothing) {
  if (!(label_smoothing >= 0 && label_smoothing < 1))
    throw Error("softmax_xent: label smoothing must be in [0, 1), got " + std::to_string(label_smoothing));
}

std::string SoftmaxCrossEntropy::spec() const {
  std::ostringstream os;
  os << "softmax_xent";
  if (smoothing_ != 0) os << " smoothing=" << smoothing_;
  return os.str();
}

double SoftmaxCrossEntropy::forward_backward(const Tensor& out, const Targets& t, Tensor* dout) {
  if (out.rank() != 2) throw Error("softmax_xent: expects (N, classes) output, got " + out.shape().str());
  if (static_cast<int64_t>(t.labels.size()) != out.dim(0))
    throw Error("softmax_xent: " + std::to_string(t.labels.size()) + " labels for a batch of " + std::to_string(out.dim(0)));
  const int64_t N = out.dim(0), K = out.dim(1);
  host_labels_.resize(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    const int32_t y = t.labels[static_cast<size_t>(n)];
    if (y < 0 || y >= K)
      throw Error("softmax_xent: label " + std::to_string(y) + " of sample " + std::to_string(n) + " is outside [0, " +
                  std::to_string(K) + ")");
    host_labels_[static_cast<size_t>(n)] = static_cast<Real>(y);
  }
  labels_.ensure({N}, out.device());
  labels_.copy_from_host(host_labels_.data());
  probs_.ensure(out.shape(), out.device());
  return ops::softmax_xent(out, labels_, smoothing_, &probs_, dout);
}

double MSE::forward_backward(const Tensor& out, const Targets& t, Tensor* dout) {
  if (t.values) return ops::mse(out, *t.values, dout);
  if (static_cast<int64_t>(t.labels.size()) != out.dim(0))
    throw Error("mse: " + std::to_string(t.labels.size()) + " labels for a batch of " + std::to_string(out.dim(0)));
  const int64_t K = out.shape().per_sample();
  host_onehot_.assign(static_cast<size_t>(out.numel()), Real(0));
  for (int64_t n = 0; n < out.dim(0); ++n) {
    const int32_t y = t.labels[static_cast<size_t>(n)];
    if (y < 0 || y >= K) throw Error("mse: label " + std::to_string(y) + " of sample " + std::to_string(n) + " out of range");
    host_onehot_[static_cast<size_t>(n * K + y)] = 1;
  }
  onehot_.ensure(out.shape(), out.device());
  onehot_.copy_from_host(host_onehot_.data());
  return ops::mse(out, onehot_, dout);
}

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> names{"softmax_xent", "cross_entropy", "xent", "softmax_cross_entropy", "mse"};
  return names;
}

std::unique_ptr<Loss> make_loss(const std::string& text) {
  SpecLine s(text, "loss");
  if (s.name == "softmax_xent" || s.name == "cross_entropy" || s.name == "xent" || s.name == "softmax_cross_entropy") {
    Real eps = static_cast<Real>(s.option_double("smoothing", 0));
    s.finish();
    return std::make_unique<SoftmaxCrossEntropy>(eps);
  }
  if (s.name == "mse") {
    s.finish();
    return std::make_unique<MSE>();
  }
  throw Error("unknown loss '" + s.name + "' (expected softmax_xent or mse)");
}

}  // namespace kiln
