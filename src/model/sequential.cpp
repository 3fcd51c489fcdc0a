#include "model/sequential.h"

#include <algorithm>

namespace kiln {

std::string Sequential::spec() const {
  std::string s;
  for (size_t i = 0; i < layers_.size(); ++i) s += (i ? "; " : "") + layers_[i]->spec();
  return s;
}

Shape Sequential::output_shape(const Shape& in) const {
  Shape s = in;
  for (const auto& l : layers_) s = l->output_shape(s);
  return s;
}

void Sequential::forward(const Tensor& x, Tensor& y, const Pass& pass) {
  if (layers_.empty()) {  // an empty body is the identity (a residual block's skip path)
    std::copy(x.data(), x.data() + x.numel(), y.data());
    return;
  }
  const size_t n = layers_.size();
  acts_.resize(n - 1);
  const Tensor* in = &x;
  for (size_t i = 0; i < n; ++i) {
    Tensor& out = (i + 1 == n) ? y : acts_[i];
    out.ensure(layers_[i]->output_shape(in->shape()));
    layers_[i]->forward(*in, out, pass);
    in = &out;
  }
}

// Backward runs the chain in reverse: dL/d(input of i) = layer_i.backward(dL/d(output of i)).
void Sequential::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  const size_t n = layers_.size();
  if (n == 0) {
    if (dx) std::copy(dy.data(), dy.data() + dy.numel(), dx->data());
    return;
  }
  grads_.resize(n - 1);
  const Tensor* g = &dy;
  for (size_t i = n; i-- > 0;) {
    const Tensor& in = i == 0 ? x : acts_[i - 1];
    const Tensor& out = i + 1 == n ? y : acts_[i];
    Tensor* gin = nullptr;
    if (i > 0) {
      grads_[i - 1].ensure(in.shape());
      gin = &grads_[i - 1];
    } else {
      gin = dx;
    }
    layers_[i]->backward(in, out, *g, gin);
    g = gin;
  }
}

void Sequential::init(Rng& rng) {
  for (auto& l : layers_) l->init(rng);
}

int64_t Sequential::forward_flops(const Shape& in) const {
  int64_t f = 0;
  Shape s = in;
  for (const auto& l : layers_) {
    f += l->forward_flops(s);
    s = l->output_shape(s);
  }
  return f;
}

std::vector<Layer*> Sequential::children() {
  std::vector<Layer*> c;
  for (auto& l : layers_) c.push_back(l.get());
  return c;
}

}  // namespace kiln
