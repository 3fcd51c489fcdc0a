#pragma once
// The bf16 GEMM of mixed-precision training (train.precision = "bf16"): C = alpha op(A) op(B)
// + beta C with every element of op(A) and op(B) rounded to bf16 (round to nearest, ties to
// even), the products summed in fp32, C read and written in fp32. Same conventions as gemm.h
// (row-major, leading dimensions are row strides); float only (the double build has no bf16).
//
// Kernel (gemm_bf16.cpp): AVX512-BF16's vdpbf16ps, which multiplies pairs of bf16 in each
// 32-bit lane and adds both products into an fp32 lane. A and B are packed into such pairs
// (consecutive k in one lane, rounded by vcvtne2ps2bf16) in panels of 16 lanes; an 8 x 48
// register-blocked micro-kernel keeps 24 fp32 accumulators; cache blocking in the order of
// BLIS (columns of C, then k, then rows). Threads: gemm.cpp splits C over the pool as it does
// for the fp32 BLAS and calls the serial kernel below on each block.
//
// Error bound (tests/backend/gemm_bf16_test.cpp checks it): bf16 keeps 8 significant bits, so
// rounding has relative error at most u = 2^-8; a product of two rounded inputs is within
// (2u + u²)|a||b| of the exact one and is itself exact in fp32 (8 + 8 bits < 24). The fp32 sum
// of K products adds at most about K·2^-24 Σ|a||b| (the rounding of each partial sum), so
//     |C - C_exact| <= |alpha| (2u + u² + K 2^-24) Σ_k |a_ik||b_kj|   (+ the rounding of beta C).
// Inputs below 2^-126 (fp32 subnormals) are flushed to zero by the instructions.
//
// AMX (amx_bf16, amx_tile: 16 x 32 bf16 tiles, TDPBF16PS) would be the next kernel behind the
// same seam: gemm_bf16_serial's packing already produces k-pairs, the layout AMX's B tiles take
// (VNNI). Not written: no machine here has AMX to test it on.
#include <bit>
#include <cstdint>

namespace kiln::cpu {

// The bf16 nearest to x (ties to even) as its 16 bits; NaN stays a quiet NaN, values past the
// largest bf16 become ±inf, as in vcvtneps2bf16 (which also flushes subnormals, this does not).
inline uint16_t to_bf16(float x) {
  uint32_t u = std::bit_cast<uint32_t>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);  // adds half an ulp, one less on even: ties go to even
  return static_cast<uint16_t>(u >> 16);
}
inline float from_bf16(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }
inline float round_bf16(float x) { return from_bf16(to_bf16(x)); }
// round_bf16 with fp32 subnormals flushed to (signed) zero first, as vcvtneps2bf16 treats them.
inline float round_bf16_flushed(float x) {
  const uint32_t u = std::bit_cast<uint32_t>(x);
  return (u & 0x7f800000u) == 0 ? std::bit_cast<float>(u & 0x80000000u) : round_bf16(x);
}

// Whether this CPU has AVX512-BF16 (and the AVX-512 F/BW/VL the kernel also uses).
bool bf16_supported();

// out[i] = round_bf16_flushed(x[i]) for i < n, by vcvtneps2bf16 (the GEMM's rounding), on the
// calling thread. Requires bf16_supported(). out may be x.
void round_to_bf16(const float* x, float* out, int64_t n);

// The kernel on the calling thread. Requires bf16_supported(). beta = 0 does not read C.
void gemm_bf16_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The reference: inputs rounded by to_bf16 (subnormals flushed, as the kernel does), products
// summed in double. For the tests.
void gemm_bf16_naive(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                     int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace kiln::cpu
