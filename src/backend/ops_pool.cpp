#include "backend/ops_pool.h"


namespace kiln::ops {

// The dims of pooling `image` (N, C, H, W) into `pooled`, checked against each other.
static PoolDims dims_of(const Tensor& image, const Tensor& pooled, int64_t k, int64_t stride, const char* what) {
  KILN_REQUIRE(image.rank() == 4 && k > 0 && stride > 0 && image.dim(2) >= k && image.dim(3) >= k,
             what << ": " << k << "x" << k << " window, stride " << stride << ", on " << image.shape().str());
  const PoolDims d = pool_dims(image.dim(0), image.dim(1), image.dim(2), image.dim(3), k, stride);
  KILN_REQUIRE(pooled.shape() == Shape({d.N, d.C, d.P, d.Q}),
             what << ": pooled " << pooled.shape().str() << " for " << image.shape().str());
  return d;
}

void maxpool_forward(const Tensor& x, int64_t k, int64_t stride, Tensor& y, Buffer& argmax) {
  Backend& be = backend_for({&x, &y});
  const PoolDims d = dims_of(x, y, k, stride, "maxpool forward");
  KILN_REQUIRE(k * k <= 256, "maxpool window " << k << "x" << k << ": offsets do not fit a byte");
  argmax.ensure(static_cast<size_t>(y.numel()), x.device());
  be.maxpool_forward(x.data(), y.data(), argmax.as<uint8_t>(), d);
}

void maxpool_backward(const Tensor& dy, const Buffer& argmax, int64_t k, int64_t stride, Tensor& dx) {
  Backend& be = backend_for({&dy, &dx});
  const PoolDims d = dims_of(dx, dy, k, stride, "maxpool backward");
  KILN_REQUIRE(argmax.device() == dy.device() && argmax.size() >= static_cast<size_t>(dy.numel()),
             "maxpool backward without a matching forward");
  be.maxpool_backward(dy.data(), argmax.as<uint8_t>(), dx.data(), d);
}

void avgpool_forward(const Tensor& x, int64_t k, int64_t stride, Tensor& y) {
  backend_for({&x, &y}).avgpool_forward(x.data(), y.data(), dims_of(x, y, k, stride, "avgpool forward"));
}

void avgpool_backward(const Tensor& dy, int64_t k, int64_t stride, Tensor& dx) {
  backend_for({&dy, &dx}).avgpool_backward(dy.data(), dx.data(), dims_of(dx, dy, k, stride, "avgpool backward"));
}

static void check_gap(const Tensor& image, const Tensor& pooled, const char* what) {
  KILN_REQUIRE(image.rank() == 4 && pooled.shape() == Shape({image.dim(0), image.dim(1)}),
             what << ": " << image.shape().str() << " and " << pooled.shape().str());
}

void global_avgpool_forward(const Tensor& x, Tensor& y) {
  Backend& be = backend_for({&x, &y});
  check_gap(x, y, "global average pool forward");
  be.global_avgpool_forward(x.data(), y.data(), x.dim(0) * x.dim(1), x.dim(2) * x.dim(3));
}

void global_avgpool_backward(const Tensor& dy, Tensor& dx) {
  Backend& be = backend_for({&dy, &dx});
  check_gap(dx, dy, "global average pool backward");
  be.global_avgpool_backward(dy.data(), dx.data(), dx.dim(0) * dx.dim(1), dx.dim(2) * dx.dim(3));
}

}  // namespace kiln::ops
