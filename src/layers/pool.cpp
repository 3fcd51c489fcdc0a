// Pooling layers, NCHW, k×k windows at stride st without padding:
//     P = (H - k) / st + 1,  Q = (W - k) / st + 1.
//
// Max:  y[n,c,p,q] = max_{r,s < k} x[n, c, p·st + r, q·st + s]
//       Piecewise the identity on the winning element, so dL/dx routes each dy[n,c,p,q] to the
//       argmax of its window (cached in forward; ties go to the first max) and adds where
//       overlapping windows (st < k) pick the same pixel. Everything else gets 0.
// Avg:  y[n,c,p,q] = (1/k²) Σ_{r,s < k} x[n, c, p·st + r, q·st + s]
//       Linear: every pixel of a window receives dy[n,c,p,q] / k², summed over its windows.
// GAP:  y[n,c] = (1/HW) Σ_{h,w} x[n,c,h,w],   dL/dx[n,c,h,w] = dy[n,c] / HW.
#include "layers/pool.h"

#include "backend/ops_pool.h"
#include "layers/limits.h"
#include "layers/registry.h"

namespace kiln {

static void check_window(int64_t k, int64_t stride, const char* name) {
  check_range(name, "the window", k, 1, kMaxWindow);
  check_range(name, "the stride", stride, 1, kMaxWindow);
}

static std::string pool_spec(const char* name, int64_t k, int64_t stride) {
  return std::string(name) + " " + std::to_string(k) + (stride != k ? " stride=" + std::to_string(stride) : "");
}

// (N, C, P, Q), or a kiln::Error naming the layer and the input.
static Shape pooled_shape(const std::string& spec, const Shape& in, int64_t k, int64_t stride) {
  if (in.rank() != 4) throw Error(spec + ": expects input (N, C, H, W), got input " + in.str());
  const PoolDims d = pool_dims(in[0], in[1], in[2], in[3], k, stride);
  if (!d.valid())
    throw Error(spec + ": the " + std::to_string(k) + "x" + std::to_string(k) + " window is larger than the input " +
                in.str());
  return Shape{d.N, d.C, d.P, d.Q};
}

// "maxpool 2", "avgpool 3 stride=2": square windows, the stride defaulting to the window.
template <class Pool>
static LayerKind pool_kind(const char* name) {
  return {name, {}, std::string(name) + " k [stride=k]", [](SpecLine& s, const BuildContext& ctx) -> std::unique_ptr<Layer> {
            ctx.need_image(s);
            const auto [k, k2] = s.positional_size("window size");
            if (k != k2) s.fail("only square windows are supported");
            return std::make_unique<Pool>(k, s.option_int("stride", k, 1));
          }};
}
LayerKind MaxPool2d::kind() { return pool_kind<MaxPool2d>("maxpool"); }
LayerKind AvgPool2d::kind() { return pool_kind<AvgPool2d>("avgpool"); }

LayerKind GlobalAvgPool::kind() {
  return {"gap", {"globalavgpool"}, "gap", [](SpecLine& s, const BuildContext& ctx) -> std::unique_ptr<Layer> {
            ctx.need_image(s);
            return std::make_unique<GlobalAvgPool>();
          }};
}

MaxPool2d::MaxPool2d(int64_t kernel, int64_t stride) : k_(kernel), stride_(stride ? stride : kernel) {
  check_window(k_, stride_, "maxpool");
  if (k_ > 16) throw Error("maxpool: windows up to 16x16 are supported, got " + std::to_string(k_));
}
std::string MaxPool2d::spec() const { return pool_spec("maxpool", k_, stride_); }
Shape MaxPool2d::output_shape(const Shape& in) const { return pooled_shape(spec(), in, k_, stride_); }

void MaxPool2d::forward(const Tensor& x, Tensor& y, const Pass&) {
  check_shape(y, output_shape(x.shape()), "maxpool forward output");
  ops::maxpool_forward(x, k_, stride_, y, argmax_);
}

void MaxPool2d::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (!dx) return;
  check_shape(dy, output_shape(x.shape()), "maxpool backward dL/dy");
  check_shape(*dx, x.shape(), "maxpool backward dL/dx");
  ops::maxpool_backward(dy, argmax_, k_, stride_, *dx);
}

int64_t MaxPool2d::forward_flops(const Shape& in) const { return output_shape(in).numel() * k_ * k_; }

AvgPool2d::AvgPool2d(int64_t kernel, int64_t stride) : k_(kernel), stride_(stride ? stride : kernel) {
  check_window(k_, stride_, "avgpool");
}
std::string AvgPool2d::spec() const { return pool_spec("avgpool", k_, stride_); }
Shape AvgPool2d::output_shape(const Shape& in) const { return pooled_shape(spec(), in, k_, stride_); }

void AvgPool2d::forward(const Tensor& x, Tensor& y, const Pass&) {
  check_shape(y, output_shape(x.shape()), "avgpool forward output");
  ops::avgpool_forward(x, k_, stride_, y);
}

void AvgPool2d::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (!dx) return;
  check_shape(dy, output_shape(x.shape()), "avgpool backward dL/dy");
  check_shape(*dx, x.shape(), "avgpool backward dL/dx");
  ops::avgpool_backward(dy, k_, stride_, *dx);
}

int64_t AvgPool2d::forward_flops(const Shape& in) const { return output_shape(in).numel() * k_ * k_; }

Shape GlobalAvgPool::output_shape(const Shape& in) const {
  if (in.rank() != 4 || in[2] <= 0 || in[3] <= 0)
    throw Error("gap: expects input (N, C, H, W) with a non-empty image, got input " + in.str());
  return Shape{in[0], in[1]};
}

void GlobalAvgPool::forward(const Tensor& x, Tensor& y, const Pass&) {
  check_shape(y, output_shape(x.shape()), "gap forward output");
  ops::global_avgpool_forward(x, y);
}

void GlobalAvgPool::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (!dx) return;
  check_shape(dy, output_shape(x.shape()), "gap backward dL/dy");
  check_shape(*dx, x.shape(), "gap backward dL/dx");
  ops::global_avgpool_backward(dy, *dx);
}

}  // namespace kiln
