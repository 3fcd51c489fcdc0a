#pragma once
// The BLAS (Debian's OpenBLAS), loaded at first use rather than linked.
//
// Why: OpenBLAS picks its kernels when the library is loaded, from the CPU model, and the
// Debian 12 build (0.3.21) does not know recent Xeons (e.g. model 207): it falls back to its
// SSE3 "Prescott" kernels, 3-5x slower than its AVX-512 ones. Its OPENBLAS_CORETYPE variable
// overrides the choice but is read only at load time. Loading the library ourselves lets kiln
// set it first (Cooperlake kernels where the CPU has AVX-512 BF16, SkylakeX where it has
// AVX-512), unless the user has set it.
//
// Threads: kiln runs one thread pool (OpenMP). The BLAS is kept single-threaded and large GEMMs
// are split across the pool by kiln (cpu/gemm.cpp), so two pools never compete for the cores.
//
// In a Python process the library is usually loaded already, by numpy (Debian's numpy links
// the same libopenblas.so.0), with the kernels it chose itself. Where they are kiln's choice
// (OPENBLAS_CORETYPE was set, or the Python module was imported before numpy: it calls
// choose_blas_kernels), kiln shares it and must not leave numpy's thread count changed
// (BlasSingleThreaded). Where they are not (Prescott on a Xeon it does not know), kiln loads a
// copy of its own with dlmopen, which numpy never sees: the same kernels, and so the same
// sums, as the kiln command; blas_description says which.
#include <string>

namespace kiln::cpu {

void blas_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                int ldb, float beta, float* C, int ldc);
void blas_dgemm(bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A, int lda,
                const double* B, int ldb, double beta, double* C, int ldc);
// "OpenBLAS 0.3.21 ... (kernels: Cooperlake)", and ", a copy of kiln's own beside the process's
// (kernels: Prescott)" where kiln loaded its own.
std::string blas_description();

// Sets OPENBLAS_CORETYPE for the OpenBLAS this process will load, unless the user has set it:
// Cooperlake where the CPU has AVX-512 BF16, SkylakeX where it has AVX-512. Only an OpenBLAS
// loaded afterwards reads it.
void choose_blas_kernels();

// While one is alive (they nest, from any thread) the BLAS runs one thread per caller; when the
// last one ends, the library has the thread count it had before the first began. For code
// that shares the process's OpenBLAS with others (the Python module: numpy's matrix products
// keep their threads after kiln has trained).
class BlasSingleThreaded {
 public:
  BlasSingleThreaded();
  ~BlasSingleThreaded();
  BlasSingleThreaded(const BlasSingleThreaded&) = delete;
  BlasSingleThreaded& operator=(const BlasSingleThreaded&) = delete;
};

}  // namespace kiln::cpu
