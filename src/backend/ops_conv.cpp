#include "backend/ops_conv.h"

#include "backend/cpu/conv.h"

namespace kiln::ops {

static cpu::ConvDims dims_of(const Tensor& image, const ConvGeometry& g, const char* what) {
  KILN_CHECK(image.rank() == 4, what << ": expects an (N, C, H, W) tensor, got " << image.shape().str());
  return cpu::conv_dims(image.dim(0), image.dim(1), image.dim(2), image.dim(3), 0, g.R, g.S, g.stride, g.pad);
}

static void check_cols(const Tensor& cols, const cpu::ConvDims& d, const char* what) {
  KILN_CHECK(cols.rank() == 2 && cols.dim(0) == d.crs() && cols.dim(1) == d.N * d.pq(),
             what << ": columns " << cols.shape().str() << ", expected [" << d.crs() << ", " << d.N * d.pq()
                  << "]");
}

void im2col(const Tensor& x, const ConvGeometry& g, Tensor& cols) {
  backend_for({&x, &cols});
  const cpu::ConvDims d = dims_of(x, g, "im2col");
  check_cols(cols, d, "im2col");
  cpu::im2col(x.data(), cols.data(), d);
}

void col2im(const Tensor& cols, const ConvGeometry& g, Tensor& dx, bool accumulate) {
  backend_for({&cols, &dx});
  const cpu::ConvDims d = dims_of(dx, g, "col2im");
  check_cols(cols, d, "col2im");
  if (!accumulate) dx.zero();
  cpu::col2im(cols.data(), dx.data(), d);
}

void conv_output_from_cols(const Tensor& ymat, const Tensor* bias, Tensor& y) {
  if (bias)
    backend_for({&ymat, bias, &y});
  else
    backend_for({&ymat, &y});
  KILN_CHECK(y.rank() == 4, "conv output " << y.shape().str());
  const int64_t N = y.dim(0), K = y.dim(1), PQ = y.dim(2) * y.dim(3);
  KILN_CHECK(ymat.rank() == 2 && ymat.dim(0) == K && ymat.dim(1) == N * PQ,
             "conv output columns " << ymat.shape().str() << " for output " << y.shape().str());
  KILN_CHECK(!bias || bias->numel() == K, "bias of " << bias->numel() << " for " << K << " channels");
  cpu::cols_to_nchw(ymat.data(), bias ? bias->data() : nullptr, y.data(), N, K, PQ);
}

void conv_grad_to_cols(const Tensor& dy, Tensor& dymat) {
  backend_for({&dy, &dymat});
  KILN_CHECK(dy.rank() == 4, "conv output gradient " << dy.shape().str());
  const int64_t N = dy.dim(0), K = dy.dim(1), PQ = dy.dim(2) * dy.dim(3);
  KILN_CHECK(dymat.rank() == 2 && dymat.dim(0) == K && dymat.dim(1) == N * PQ,
             "conv gradient columns " << dymat.shape().str() << " for gradient " << dy.shape().str());
  cpu::nchw_to_cols(dy.data(), dymat.data(), N, K, PQ);
}

void add_channel_bias(Tensor& y, const Tensor& b) {
  backend_for({&y, &b});
  KILN_CHECK(y.rank() == 4 && b.numel() == y.dim(1), "channel bias " << b.shape().str() << " for " << y.shape().str());
  cpu::add_channel_bias(y.data(), b.data(), y.dim(0), y.dim(1), y.dim(2) * y.dim(3));
}

void accumulate_channel_sum(const Tensor& dy, Tensor& db) {
  backend_for({&dy, &db});
  KILN_CHECK(dy.rank() == 4 && db.numel() == dy.dim(1),
             "channel bias gradient " << db.shape().str() << " for " << dy.shape().str());
  cpu::accumulate_channel_sum(dy.data(), db.data(), dy.dim(0), dy.dim(1), dy.dim(2) * dy.dim(3));
}

}  // namespace kiln::ops
