#include "layers/batchnorm.h"

namespace kiln {
// STUB: replaced by the real implementation.
BatchNorm::BatchNorm(int64_t features, Real momentum, Real eps) : F_(features), momentum_(momentum), eps_(eps) {
  gamma_ = Tensor({F_}); dgamma_ = Tensor({F_}); beta_ = Tensor({F_}); dbeta_ = Tensor({F_});
  running_mean_ = Tensor({F_}); running_var_ = Tensor({F_});
}
std::string BatchNorm::spec() const { return "bn"; }
Shape BatchNorm::output_shape(const Shape& in) const { return in; }
void BatchNorm::forward(const Tensor&, Tensor&, const Pass&) { throw Error("not implemented"); }
void BatchNorm::backward(const Tensor&, const Tensor&, const Tensor&, Tensor*) { throw Error("not implemented"); }
std::vector<Param> BatchNorm::params() { return {{"gamma", &gamma_, &dgamma_, false}, {"beta", &beta_, &dbeta_, false}}; }
std::vector<Param> BatchNorm::buffers() { return {{"running_mean", &running_mean_, nullptr, false}, {"running_var", &running_var_, nullptr, false}}; }
void BatchNorm::init(Rng&) { gamma_.fill(1); running_var_.fill(1); }
Dropout::Dropout(Real p, uint64_t stream) : p_(p), stream_(stream) {}
std::string Dropout::spec() const { return "dropout"; }
void Dropout::forward(const Tensor&, Tensor&, const Pass&) { throw Error("not implemented"); }
void Dropout::backward(const Tensor&, const Tensor&, const Tensor&, Tensor*) { throw Error("not implemented"); }
}  // namespace kiln
