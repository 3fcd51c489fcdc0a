#include "backend/ops_conv.h"

namespace kiln::ops {

// Checks x, w and y against the dims of the convolution.
static void check_dims(const Tensor& x, const Tensor& w, const Tensor& y, const ConvDims& d, const char* what) {
  check_shape(x, Shape{d.N, d.C, d.H, d.W}, what);
  check_shape(w, Shape{d.K, d.C, d.R, d.S}, what);
  check_shape(y, Shape{d.N, d.K, d.P, d.Q}, what);
}

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y, const ConvDims& d,
                    Epilogue epilogue) {
  Backend& be = b ? backend_for({&x, &w, b, &y}) : backend_for({&x, &w, &y});
  check_dims(x, w, y, d, "conv2d forward");
  KILN_REQUIRE(!b || b->numel() == d.K, "conv2d forward: bias of " << b->numel() << " for " << d.K << " channels");
  be.conv2d_forward(x.data(), w.data(), b ? b->data() : nullptr, y.data(), d, epilogue);
}

void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& dy, Tensor* dx, Tensor& dw,
                     Tensor* db, const ConvDims& d, Epilogue epilogue) {
  Backend& be = backend_for({&x, &w, &y, &dy, &dw});
  check_dims(x, w, y, d, "conv2d backward");
  check_same_shape(dy, y, "conv2d backward: dL/dy vs y");
  check_same_shape(dw, w, "conv2d backward: dL/dw vs w");
  if (dx) {
    backend_for({&x, dx});
    check_same_shape(*dx, x, "conv2d backward: dL/dx vs x");
  }
  if (db) {
    backend_for({&x, db});
    KILN_REQUIRE(db->numel() == d.K, "conv2d backward: bias gradient of " << db->numel() << " for " << d.K << " channels");
  }
  be.conv2d_backward(x.data(), w.data(), y.data(), dy.data(), dx ? dx->data() : nullptr, dw.data(),
                     db ? db->data() : nullptr, d, epilogue);
}

}  // namespace kiln::ops
