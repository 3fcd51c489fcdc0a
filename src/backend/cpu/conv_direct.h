#pragma once
// Direct convolution kernels (AVX-512) for stride-1 convolutions with few channels: the
// convolutions of the seed CNNs, where im2col + GEMM is bound by memory traffic (the columns
// are C·R·S times larger than the input and the GEMMs are too skinny for the BLAS to reach its
// peak; see ../shared/notes/cpu-performance.md).
//
// Each thread takes a run of samples and keeps its working set in its own L2:
//   forward     y[k, p, q0:q0+16v] = Σ_{c,r,s} w[k,c,r,s] · xp[c, p + r, q0 + s : …]
//               one output row at a time, KB output channels × V vectors of 16 pixels held in
//               registers, each loaded input vector multiplied by KB weights broadcast from a
//               K-contiguous repack of w (xp: the sample zero-padded into a thread buffer).
//   dL/dx       the same kernel on g padded by R-1-pad with the weights flipped and C, K
//               swapped: dx[c,h,w] = Σ_{k,r,s} g[k, h + pad - r, w + pad - s] w[k,c,r,s].
//   dL/dw       dw[k,c,r,s] = Σ_{n,p,q} g[n,k,p,q] · xp[n, c, p + r, q + s], KB channels × SB
//               kernel columns of vector accumulators (16 partial sums each) per (c, r), over a
//               group of samples; kept in a per-thread buffer and summed across lanes and
//               threads once per call.
// with g = dy, masked by y > 0 when a ReLU is fused into the convolution.
//
// Float only; the caller checks supported() (which also checks the CPU at run time) and falls
// back to im2col + GEMM otherwise. Tested against the naive references in conv.h.
#include <cstdint>

#include "backend/dims.h"

namespace kiln::cpu::direct {

// Stride 1, padding at most R-1 and S-1, and weights small enough for the per-thread
// accumulators; and the CPU has AVX-512.
bool supported(const ConvDims& d);

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvDims& d, Epilogue epilogue);
void conv2d_backward(const float* x, const float* w, const float* y, const float* dy, float* dx, float* dw, float* db,
                     const ConvDims& d, Epilogue epilogue);

}  // namespace kiln::cpu::direct
