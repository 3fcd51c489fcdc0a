#pragma once
// A chain of layers, itself a layer (so residual blocks nest). It keeps the intermediate
// activations of the last forward for backward, in buffers planned once per batch shape (two
// of them, used in turn, when the pass says no backward follows).
#include <functional>
#include <memory>
#include <vector>

#include "layers/layer.h"

namespace kiln {

class Sequential : public Layer {
 public:
  Sequential() = default;
  void add(std::unique_ptr<Layer> layer) {
    layers_.push_back(std::move(layer));
    fused_.push_back(false);
  }
  // Lets each layer absorb the one after it where it can (Layer::absorb: a conv takes the ReLU
  // after it into its epilogue), here and in nested blocks, saving a pass over memory each
  // way. The layers, their specs and the results are unchanged.
  void fuse();
  size_t size() const { return layers_.size(); }
  Layer& operator[](size_t i) { return *layers_[i]; }
  const Layer& operator[](size_t i) const { return *layers_[i]; }
  // Layer i was absorbed by the layer before it (see fuse()): it computes nothing.
  bool fused(size_t i) const { return fused_[i]; }

  // Called after layer i's backward in backward() (its and later layers' parameter gradients
  // are then final): data-parallel training starts summing them while earlier layers compute.
  void set_backward_hook(std::function<void(size_t)> hook) { hook_ = std::move(hook); }

  std::string spec() const override;  // "a; b; c"
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  void init(Rng& rng) override;
  int64_t forward_flops(const Shape& in) const override;
  std::vector<Layer*> children() override;

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<bool> fused_;    // fused_[i]: layer i is absorbed by layer i - 1
  std::vector<Tensor> acts_;   // acts_[i]: output of layer i (the last computed one writes y)
  std::vector<Tensor> grads_;  // grads_[i]: dL/d(input of layer i), for i > 0
  std::function<void(size_t)> hook_;
};

}  // namespace kiln
