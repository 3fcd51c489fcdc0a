#pragma once
#include "layers/layer.h"
#include "tensor/buffer.h"

namespace kiln {

// Max pooling over k×k windows with the given stride (default = k), no padding, NCHW.
class MaxPool2d : public Layer {
 public:
  explicit MaxPool2d(int64_t kernel, int64_t stride = 0);
  static LayerKind kind();
  std::string spec() const override;
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  int64_t forward_flops(const Shape& in) const override;

 protected:
  int64_t k_, stride_;
  Buffer argmax_;  // per output element, the window offset of the max (one byte)
};

// Average pooling over k×k windows with the given stride (default = k), no padding, NCHW.
class AvgPool2d : public Layer {
 public:
  explicit AvgPool2d(int64_t kernel, int64_t stride = 0);
  static LayerKind kind();
  std::string spec() const override;
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  int64_t forward_flops(const Shape& in) const override;

 private:
  int64_t k_, stride_;
};

// Global average pooling: (N, C, H, W) -> (N, C).
class GlobalAvgPool : public Layer {
 public:
  static LayerKind kind();
  std::string spec() const override { return "gap"; }
  Shape output_shape(const Shape& in) const override;
  void forward(const Tensor& x, Tensor& y, const Pass& pass) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  int64_t forward_flops(const Shape& in) const override { return in.numel(); }
};

}  // namespace kiln
