#pragma once
// Winograd convolution F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2015) for 3x3 stride-1 convolutions with many channels: the VGG-style net, where
// the convolutions are compute-bound and this does a quarter of the multiplications.
//
// A 6x6 input tile d (rows and columns 4t - pad .. 4t - pad + 5) and a 3x3 filter g give the
// 4x4 output tile
//     Y = Aᵀ [ Σ_c (G g_kc Gᵀ) ⊙ (Bᵀ d_c B) ] A              (B, G, A: conv_winograd.cpp)
// so the 9·16 = 144 multiplies per tile and channel pair of the direct convolution become 36.
// With U_ξ[c, k] = (G g_kc Gᵀ)[ξ] and V_ξ[t, c] = (Bᵀ d_tc B)[ξ] for each of the 36 tile
// positions ξ, the sum over c is a GEMM per position over a block of tiles t:
//     M_ξ (T, K) = V_ξ (T, C) · U_ξ (C, K),     y_tile(t, k) = Aᵀ M[·, t, k] A.
// Backward:
//   dL/dx  the forward on g (= dy, masked by y > 0 under a fused ReLU) with the filters
//          rotated by 180° and C, K swapped, padded by 2 - pad (as in conv.cpp's reference).
//   dL/dw  the adjoint of the forward, tile by tile: Y = Aᵀ M A gives dM = A dY Aᵀ, then
//          dU_ξ (C, K) = Σ_t V_ξ[t, ·]ᵀ dM_ξ[t, ·]  (a GEMM that sums over the tiles), and
//          U = G g Gᵀ gives dg = Gᵀ dU G.
//   dL/db  Σ g.
// Each thread takes blocks of tile rows (all tiles of 4 output rows of a sample) sized so that
// its V and M stay in its L2; activations are turned channels-last a tile row at a time, so
// the transforms run 16 channels to a register.
//
// Float, AVX-512, C and K multiples of 16; the caller checks supported() (which also checks
// the CPU at run time). Tested against the naive references of conv.h.
#include "backend/dims.h"

namespace kiln::cpu::winograd {

bool supported(const ConvDims& d);

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvDims& d, Epilogue epilogue);
void conv2d_backward(const float* x, const float* w, const float* y, const float* dy, float* dx, float* dw, float* db,
                     const ConvDims& d, Epilogue epilogue);

}  // namespace kiln::cpu::winograd
