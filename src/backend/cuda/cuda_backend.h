#pragma once
// What the CUDA backend offers beyond the Backend table: memory statistics and a few settings,
// for tests, benchmarks and tools. Exists only in builds with the CUDA backend (CMake defines
// KILN_WITH_CUDA for them). Each function throws kiln::Error when no GPU can be used.
//
// Environment (read once, when the backend is created):
//   KILN_CUDA_DEVICE=i       use GPU i (default 0)
//   KILN_CUDA_TF32=0         exact fp32 GEMMs instead of TF32 tensor cores (see set_tf32);
//                            an experiment's train.precision overrides it for its run
//   KILN_CUDA_SYNC=1         synchronise after every kernel, to name the one that failed
//   KILN_CUDA_CONV_WORKSPACE_MB=n   the im2col workspace bound (default: 1/16 of the GPU's
//                            memory, at most 1024)
//   KILN_CUDA_GRAPHS=0       train without CUDA graphs (read by train/step.cpp)
#include <cstdint>

#include "backend/cuda/allocator.h"

namespace kiln::cuda {

// The caching allocator's counters (allocator.h): bytes in use and reserved, and their peaks.
MemoryStats memory_stats();
void reset_peak_memory();
// Returns cached blocks to the device (cudaFree).
void empty_cache();

// TF32 tensor-core math for the GEMMs (cuBLAS CUBLAS_TF32_TENSOR_OP_MATH), on by default (as
// PyTorch has it for convolutions; KILN_CUDA_TF32=0 turns it off, and so does
// train.precision = "fp32"). Also Backend::set_tf32.
// The tensor cores read each input with 10 explicit mantissa bits (relative error at most
// u = 2^-10 ≈ 1e-3, half that where they round to nearest) and accumulate in fp32, so a
// product a·b is off by at most about 2u relative and a dot product of length K by at most
// about (2u + K·2^-24)·Σ_k |a_k b_k|: near 2e-3 of the sum of magnitudes, against K·6e-8 in
// fp32. Convolutions (im2col GEMMs) inherit the same bound. The op tests allow a norm-wise
// relative error of 1e-2 for GEMMs and convolutions under TF32 (1e-5 to 1e-4 in fp32).
// Returns the previous setting.
bool set_tf32(bool enabled);

// The bound on the im2col workspace of one convolution chunk (bytes); returns the previous one.
// Tests shrink it to exercise several chunks.
int64_t set_conv_workspace_bytes(int64_t bytes);

}  // namespace kiln::cuda
