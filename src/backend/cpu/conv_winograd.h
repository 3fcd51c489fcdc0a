#pragma once
// Winograd convolution F(4x4, 3x3) and F(4x4, 5x5) (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2015) for stride-1 convolutions with channels in multiples of
// 16: the VGG-style net's 3x3 layers, where the convolutions are compute-bound and this does a
// quarter of the multiplications, and the seed CNNs' 16 -> 16 5x5 layers (a sixth of them).
//
// An α×α input tile d (α = r + 3: rows and columns 4t - pad .. 4t - pad + α - 1) and an r×r
// filter g give the 4x4 output tile
//     Y = Aᵀ [ Σ_c (G g_kc Gᵀ) ⊙ (Bᵀ d_c B) ] A              (B, G, A: conv_winograd.cpp)
// so the r²·16 multiplies per tile and channel pair of the direct convolution become α² (144
// become 36 for 3x3, 400 become 64 for 5x5). With U_ξ[c, k] = (G g_kc Gᵀ)[ξ] and
// V_ξ[t, c] = (Bᵀ d_tc B)[ξ] for each of the α² tile positions ξ, the sum over c is a GEMM per
// position over a block of tiles t:
//     M_ξ (T, K) = V_ξ (T, C) · U_ξ (C, K),     y_tile(t, k) = Aᵀ M[·, t, k] A.
// Backward:
//   dL/dx  the forward on g (= dy, masked by y > 0 under a fused ReLU) with the filters
//          rotated by 180° and C, K swapped, padded by r - 1 - pad (as in conv.cpp's reference).
//   dL/dw  the adjoint of the forward, tile by tile: Y = Aᵀ M A gives dM = A dY Aᵀ, then
//          dU_ξ (C, K) = Σ_t V_ξ[t, ·]ᵀ dM_ξ[t, ·]  (a GEMM that sums over the tiles), and
//          U = G g Gᵀ gives dg = Gᵀ dU G.
//   dL/db  Σ g.
// Each thread takes blocks of tile rows (all tiles of 4 output rows of a sample) sized so that
// its V and M stay in its L2; activations are turned channels-last a tile row at a time, so
// the transforms run 16 channels to a register.
//
// bf16 (mixed precision, train.precision = "bf16"): the α² GEMMs of all three passes take their
// inputs rounded to bf16 and sum in fp32 (vdpbf16ps, winograd_bf16.h); the transforms, the
// tiles and the output stay fp32. The caller sets it only where bf16_supported() holds.
//
// Float, AVX-512, C and K multiples of 16, 3x3 or 5x5; the caller checks supported() (which also checks
// the CPU at run time). Tested against the naive references of conv.h (the bf16 products within
// the bound derived in tests/backend/bf16_winograd_test.cpp).
#include "backend/dims.h"

namespace kiln::cpu::winograd {

bool supported(const ConvDims& d);

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvDims& d, Epilogue epilogue,
                    bool bf16);
// dw and db may both be null: then only dL/dx is computed.
void conv2d_backward(const float* x, const float* w, const float* y, const float* dy, float* dx, float* dw, float* db,
                     const ConvDims& d, Epilogue epilogue, bool bf16);

}  // namespace kiln::cpu::winograd
