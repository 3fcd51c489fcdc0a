#pragma once
// The layer contract, stated once (STYLE.md #7).
//
// A layer maps a batch x (N-first, NCHW for images) to y = f(x). It is built knowing its input
// shape, so every size is fixed at construction and checked in output_shape().
//
//  forward(x, y, pass)
//      Writes f(x) into y, which the caller has sized to output_shape(x.shape()). May cache what
//      backward needs (pooling argmax, batch-norm statistics); must not keep x or y beyond the
//      call other than through that cache.
//  backward(x, y, dy, dx)
//      Called after forward on the same x and y, with dy = dL/dy. Writes dL/dx into *dx
//      (overwriting) when dx is non-null, and ADDS dL/dθ into each parameter's gradient, so
//      gradients of several batches or paths accumulate; the model zeroes them each step.
//  wants_data(), init_from_data(x)
//      Optional data-dependent initialisation (a whitening layer's filters): after init(), the
//      model hands each layer that wants it a batch of its own inputs on the host (training
//      samples, normalised, through the layers before it in eval mode). The layer sees inputs,
//      never the dataset.
//  absorb(next)
//      Optional fusion: a layer may take over the layer after it and compute both in one pass
//      (a convolution absorbs the ReLU after it into its epilogue). Returns whether it did; the
//      absorbed layer then computes nothing, its output being this one's (Sequential::fuse).
//  params()
//      The trainable tensors with their gradients, as handles the model may rebind into one
//      flat buffer (values are copied first). buffers() are saved state that is not trained
//      (batch-norm running statistics). Each is tagged: decay (weight decay applies), norm (a
//      normalisation shift, which the optimizer may treat as a group of its own), running (a
//      buffer the training forward pass updates in place, which a weight EMA averages; the
//      layer must write it through its tensor handle, never rebind it, as the model gathers
//      such buffers into one flat buffer).
//
// Layers own parameters and call kiln::ops; they never contain backend-specific code. Each
// layer's file also parses its line of the experiment-file syntax (a static kind(), listed in
// layers/registry.cpp) and prints it back (spec()).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/rng.h"
#include "tensor/tensor.h"

namespace kiln {

enum class Mode { train, eval };

// What a forward pass needs besides its input: the mode, and for stochastic layers the seed and
// step from which their counter-based random numbers are drawn.
class BatchSync;  // layers/batch_sync.h

struct Pass {
  Mode mode = Mode::eval;
  uint64_t seed = 0;
  int64_t step = 0;
  // false: no backward follows (inference), so a chain need not keep every layer's output and
  // alternates two buffers instead: VGG at batch 1000 needs 0.5 GB of activations, not 3.
  bool backward = true;
  // Training with train.sync_bn on several ranks: batch norm takes its statistics over the
  // global batch through this (null: over the batch this process sees).
  BatchSync* sync = nullptr;
  // Data-parallel training: this batch's first sample is sample `first_sample` of the global
  // batch, so that dropout draws the global batch's mask, as one process would.
  int64_t first_sample = 0;
  bool training() const { return mode == Mode::train; }
};

struct Param {
  std::string name;        // "weight", "bias", "gamma", ...; the model prefixes the layer path
  Tensor* value = nullptr;
  Tensor* grad = nullptr;  // null for buffers
  bool decay = true;       // weight decay applies (weights yes; biases and BN shifts/scales no)
  // A normalisation layer's shift (batch-norm β): the optimizer's bn_lr_scale and
  // bn_weight_decay apply to it (optim/optimizer.h), without the optimizer knowing which layer
  // it came from. Scales (γ) are not tagged: a large rate on them is what makes such recipes
  // diverge (airbench, whose recipe this is for, does not train them at all).
  bool norm = false;
  // A running statistic (buffers only): state that the training forward pass updates from the
  // data it sees (batch-norm running mean and variance), so it belongs to the weights it was
  // gathered under. A weight average (optimizer.ema) averages it alongside the weights, so that
  // the averaged weights are evaluated with statistics of the same trajectory (issue #13).
  bool running = false;
};

struct LayerKind;  // layers/registry.h

class Layer {
 public:
  virtual ~Layer() = default;
  // The spec this layer was built from, in the experiment-file syntax ("conv 16 5x5 pad=2").
  virtual std::string spec() const = 0;
  virtual Shape output_shape(const Shape& in) const = 0;
  virtual void forward(const Tensor& x, Tensor& y, const Pass& pass) = 0;
  virtual void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) = 0;

  virtual std::vector<Param> params() { return {}; }
  virtual std::vector<Param> buffers() { return {}; }
  // Initialise parameters (He/Glorot as fits the layer); called once by the model.
  virtual void init(Rng& /*rng*/) {}
  // Multiply-adds count twice; per batch of in[0] samples.
  virtual int64_t forward_flops(const Shape& /*in*/) const { return 0; }
  // Nested layers (a residual block's body), for summaries and parameter collection.
  virtual std::vector<Layer*> children() { return {}; }
  virtual bool absorb(Layer& /*next*/) { return false; }
  virtual bool wants_data() const { return false; }
  virtual void init_from_data(const Tensor& /*x*/) {}
};

}  // namespace kiln
