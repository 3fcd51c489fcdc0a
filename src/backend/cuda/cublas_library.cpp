#include "backend/cuda/cublas_library.h"

#include <dlfcn.h>

#include <string>
#include <type_traits>

#include "tensor/check.h"

// The names cublas_v2.h maps the calls to (cublasCreate is a macro for cublasCreate_v2): two
// levels, so that the argument is expanded before it is made a string.
#define KILN_SYMBOL_NAME_(x) #x
#define KILN_SYMBOL_NAME(x) KILN_SYMBOL_NAME_(x)

namespace kiln::cuda {

namespace {

CublasLibrary open_cublas() {
  void* h = nullptr;
  std::string tried;
  for (const char* name : {KILN_CUBLAS_SONAME, KILN_CUBLAS_PATH}) {
    h = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (h) break;
    const char* why = ::dlerror();
    tried += std::string(tried.empty() ? "" : "; ") + name + ": " + (why ? why : "not found");
  }
  if (!h) throw Error("cannot open cuBLAS, which the CUDA backend needs (" + tried + "); is the CUDA toolkit's lib folder on LD_LIBRARY_PATH?");
  auto find = [h](auto& fn, const char* symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(h, symbol));
    if (!fn) throw Error(std::string("cuBLAS (") + KILN_CUBLAS_SONAME + ") has no " + symbol + ": an older toolkit than kiln was built with?");
  };
  CublasLibrary l{};
  find(l.create, KILN_SYMBOL_NAME(cublasCreate));
  find(l.set_stream, KILN_SYMBOL_NAME(cublasSetStream));
  find(l.set_workspace, KILN_SYMBOL_NAME(cublasSetWorkspace));
  find(l.set_math_mode, KILN_SYMBOL_NAME(cublasSetMathMode));
  find(l.get_version, KILN_SYMBOL_NAME(cublasGetVersion));
  find(l.sgemm, KILN_SYMBOL_NAME(cublasSgemm_64));
  find(l.sgemm_strided_batched, KILN_SYMBOL_NAME(cublasSgemmStridedBatched_64));
  return l;  // the handle stays open for the life of the process
}

}  // namespace

const CublasLibrary& cublas() {
  static const CublasLibrary library = open_cublas();  // a failed open throws and is retried next call
  return library;
}

}  // namespace kiln::cuda
