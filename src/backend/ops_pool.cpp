#include "backend/ops_pool.h"

#include "backend/cpu/pool.h"

namespace kiln::ops {

// The dims of pooling `image` (N, C, H, W) into `pooled`, checked against each other.
static cpu::PoolDims pool_dims(const Tensor& image, const Tensor& pooled, int64_t k, int64_t stride, const char* what) {
  KILN_CHECK(image.rank() == 4 && k > 0 && stride > 0 && image.dim(2) >= k && image.dim(3) >= k,
             what << ": " << k << "x" << k << " window, stride " << stride << ", on " << image.shape().str());
  const cpu::PoolDims d = cpu::pool_dims(image.dim(0), image.dim(1), image.dim(2), image.dim(3), k, stride);
  KILN_CHECK(pooled.shape() == Shape({d.N, d.C, d.P, d.Q}),
             what << ": pooled " << pooled.shape().str() << " for " << image.shape().str());
  return d;
}

void maxpool_forward(const Tensor& x, int64_t k, int64_t stride, Tensor& y, int32_t* argmax) {
  backend_for({&x, &y});
  cpu::maxpool_forward(x.data(), y.data(), argmax, pool_dims(x, y, k, stride, "maxpool forward"));
}

void maxpool_backward(const Tensor& dy, const int32_t* argmax, int64_t k, int64_t stride, Tensor& dx) {
  backend_for({&dy, &dx});
  cpu::maxpool_backward(dy.data(), argmax, dx.data(), pool_dims(dx, dy, k, stride, "maxpool backward"));
}

void avgpool_forward(const Tensor& x, int64_t k, int64_t stride, Tensor& y) {
  backend_for({&x, &y});
  cpu::avgpool_forward(x.data(), y.data(), pool_dims(x, y, k, stride, "avgpool forward"));
}

void avgpool_backward(const Tensor& dy, int64_t k, int64_t stride, Tensor& dx) {
  backend_for({&dy, &dx});
  cpu::avgpool_backward(dy.data(), dx.data(), pool_dims(dx, dy, k, stride, "avgpool backward"));
}

static void check_gap(const Tensor& image, const Tensor& pooled, const char* what) {
  KILN_CHECK(image.rank() == 4 && pooled.shape() == Shape({image.dim(0), image.dim(1)}),
             what << ": " << image.shape().str() << " and " << pooled.shape().str());
}

void global_avgpool_forward(const Tensor& x, Tensor& y) {
  backend_for({&x, &y});
  check_gap(x, y, "global average pool forward");
  cpu::global_avgpool_forward(x.data(), y.data(), x.dim(0) * x.dim(1), x.dim(2) * x.dim(3));
}

void global_avgpool_backward(const Tensor& dy, Tensor& dx) {
  backend_for({&dy, &dx});
  check_gap(dx, dy, "global average pool backward");
  cpu::global_avgpool_backward(dy.data(), dx.data(), dx.dim(0) * dx.dim(1), dx.dim(2) * dx.dim(3));
}

}  // namespace kiln::ops
