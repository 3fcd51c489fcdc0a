#include "layers/sequential.h"

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

void Sequential::fuse() {
  for (size_t i = 0; i < layers_.size(); ++i) {
    // A layer absorbed by its predecessor cannot absorb the next one: it computes nothing.
    if (i > 0 && !fused_[i - 1] && layers_[i - 1]->absorb(*layers_[i])) fused_[i] = true;
    for (Layer* child : layers_[i]->children())
      if (auto* seq = dynamic_cast<Sequential*>(child)) seq->fuse();
  }
}

// The last layer that computes something (an absorbed one at the end computes nothing): it
// writes straight into y.
static size_t last_computed(const std::vector<bool>& fused) {
  size_t i = fused.size() - 1;
  while (i > 0 && fused[i]) --i;
  return i;
}

void Sequential::forward(const Tensor& x, Tensor& y, const Pass& pass) {
  if (layers_.empty()) {  // an empty body is the identity (a residual block's skip path)
    y.copy_from(x);
    return;
  }
  const size_t n = layers_.size(), last = last_computed(fused_);
  acts_.resize(pass.backward ? n : std::max<size_t>(acts_.size(), 2));
  const Tensor* in = &x;
  size_t computed = 0;
  for (size_t i = 0; i < n; ++i) {
    if (fused_[i]) continue;  // its output is its input, computed by the layer before
    Tensor& out = i == last ? y : acts_[pass.backward ? i : computed++ % 2];
    out.ensure(layers_[i]->output_shape(in->shape()), x.device());
    layers_[i]->forward(*in, out, pass);
    in = &out;
  }
}

// Backward runs the chain in reverse: dL/d(input of i) = layer_i.backward(dL/d(output of i)).
// An absorbed layer passes the gradient through untouched: the layer that absorbed it takes
// dL/d(its output) (a conv with the ReLU epilogue masks it).
void Sequential::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  const size_t n = layers_.size();
  if (n == 0) {
    if (dx) dx->copy_from(dy);
    return;
  }
  const size_t last = last_computed(fused_);
  grads_.resize(n);
  const Tensor* g = &dy;
  for (size_t i = last + 1; i-- > 0;) {
    if (fused_[i]) continue;
    size_t j = i;  // i's input is the output of the computed layer before it
    if (j > 0)
      do --j;
      while (fused_[j]);
    const Tensor& in = i == 0 ? x : acts_[j];
    const Tensor& out = i == last ? y : acts_[i];
    Tensor* gin = dx;
    if (i > 0) {
      grads_[i].ensure(in.shape(), x.device());
      gin = &grads_[i];
    }
    layers_[i]->backward(in, out, *g, gin);
    if (hook_) hook_(i);
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
