#include "backend/ops_conv.h"

namespace kiln::ops {

// The dims of convolving x with w into y, each checked against the others.
static ConvDims dims_of(const Tensor& x, const Tensor& w, const Tensor& y, const ConvGeometry& g, const char* what) {
  KILN_CHECK(x.rank() == 4 && w.rank() == 4 && y.rank() == 4,
             what << ": x " << x.shape().str() << ", w " << w.shape().str() << ", y " << y.shape().str());
  const ConvDims d = conv_dims(x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), g.R, g.S, g.stride, g.pad);
  KILN_CHECK(w.shape() == Shape({d.K, d.C, d.R, d.S}), what << ": weights " << w.shape().str() << " for " << x.shape().str());
  KILN_CHECK(y.shape() == Shape({d.N, d.K, d.P, d.Q}), what << ": output " << y.shape().str() << " for " << x.shape().str());
  return d;
}

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y, const ConvGeometry& g,
                    Epilogue epilogue) {
  Backend& be = b ? backend_for({&x, &w, b, &y}) : backend_for({&x, &w, &y});
  const ConvDims d = dims_of(x, w, y, g, "conv2d forward");
  KILN_CHECK(!b || b->numel() == d.K, "bias of " << b->numel() << " for " << d.K << " channels");
  be.conv2d_forward(x.data(), w.data(), b ? b->data() : nullptr, y.data(), d, epilogue);
}

void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, Tensor* dx, Tensor& dw,
                     Tensor* db, const ConvGeometry& g, Epilogue epilogue) {
  Backend& be = backend_for({&x, &w, &y, &dy, &dw});
  const ConvDims d = dims_of(x, w, y, g, "conv2d backward");
  check_same_shape(dy, y, "conv2d backward: dL/dy vs y");
  check_same_shape(dw, w, "conv2d backward: dL/dw vs w");
  if (dx) {
    backend_for({&x, dx});
    check_same_shape(*dx, x, "conv2d backward: dL/dx vs x");
  }
  if (db) {
    backend_for({&x, db});
    KILN_CHECK(db->numel() == d.K, "bias gradient of " << db->numel() << " for " << d.K << " channels");
  }
  be.conv2d_backward(x.data(), w.data(), y.data(), dy.data(), dx ? dx->data() : nullptr, dw.data(),
                     db ? db->data() : nullptr, d, epilogue);
}

}  // namespace kiln::ops
