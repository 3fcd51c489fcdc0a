#pragma once
// cuBLAS, opened when the CUDA backend starts rather than linked into every kiln binary:
// loading libcublasLt runs about 0.6 s of static initialisers (measured with perf on `kiln
// --version`: 84% of its time), which every process would pay wherever the CUDA toolkit is
// installed, GPU or not: each `kiln --help`, and each of the test suite's ~1000 test processes.
// The few entry points the backend calls are looked up once; the types come from the header.
#include <cublas_v2.h>

namespace kiln::cuda {

struct CublasLibrary {
  decltype(&cublasCreate) create;
  decltype(&cublasSetStream) set_stream;
  decltype(&cublasSetWorkspace) set_workspace;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasGetVersion) get_version;
  decltype(&cublasSgemm_64) sgemm;
  decltype(&cublasSgemmStridedBatched_64) sgemm_strided_batched;
};

// Opens the library on first call (the toolkit's soname, then the path it was built against);
// throws kiln::Error naming what was tried when it cannot be opened or lacks an entry point.
const CublasLibrary& cublas();

}  // namespace kiln::cuda
