#include "backend/cpu/blas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "tensor/check.h"

namespace kiln::cpu {

namespace {

// CBLAS enums, as in cblas.h.
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

using sgemm_t = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using dgemm_t = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*,
                         int);
using set_threads_t = void (*)(int);
using get_threads_t = int (*)();
using get_str_t = char* (*)();

constexpr const char* kLibraryNames[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"};

struct Blas {
  sgemm_t sgemm = nullptr;
  dgemm_t dgemm = nullptr;
  get_str_t config = nullptr, corename = nullptr;
  set_threads_t set_threads = nullptr;
};

const Blas& blas() {
  static Blas b;
  static std::once_flag once;
  std::call_once(once, [] {
    choose_blas_kernels();
    ::setenv("OPENBLAS_NUM_THREADS", "1", 0);  // kiln's pool does the threading (see blas.h)
    void* h = nullptr;
    for (const char* name : kLibraryNames)
      if ((h = ::dlopen(name, RTLD_NOW | RTLD_GLOBAL))) break;
    if (!h) throw Error(std::string("cannot load OpenBLAS (install Debian's libopenblas0): ") + ::dlerror());
    b.sgemm = reinterpret_cast<sgemm_t>(::dlsym(h, "cblas_sgemm"));
    b.dgemm = reinterpret_cast<dgemm_t>(::dlsym(h, "cblas_dgemm"));
    b.config = reinterpret_cast<get_str_t>(::dlsym(h, "openblas_get_config"));
    b.corename = reinterpret_cast<get_str_t>(::dlsym(h, "openblas_get_corename"));
    if (!b.sgemm || !b.dgemm) throw Error("the loaded BLAS has no cblas_sgemm/cblas_dgemm");
    b.set_threads = reinterpret_cast<set_threads_t>(::dlsym(h, "openblas_set_num_threads"));
    if (b.set_threads) b.set_threads(1);
  });
  return b;
}

// The BlasSingleThreaded scopes alive, and the thread count the library had before the first.
std::mutex g_single_mu;
int g_single_depth = 0;
int g_threads_before = 0;  // 0: not loaded before, or not OpenBLAS: nothing to give back

}  // namespace

void blas_sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                float beta, float* C, int ldc) {
  blas().sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void blas_dgemm(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb,
                double beta, double* C, int ldc) {
  blas().dgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void choose_blas_kernels() {
  if (std::getenv("OPENBLAS_CORETYPE") || !__builtin_cpu_supports("avx512f")) return;
  // Cooperlake = SkylakeX kernels plus the BF16 ones; both need AVX-512.
  ::setenv("OPENBLAS_CORETYPE", __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX", 0);
}

BlasSingleThreaded::BlasSingleThreaded() {
  std::lock_guard<std::mutex> lock(g_single_mu);
  if (g_single_depth > 0) {
    ++g_single_depth;
    return;
  }
  // Loaded already (by numpy, or by an earlier scope)? Then remember its thread count.
  int before = 0;
  for (const char* name : kLibraryNames) {
    if (void* h = ::dlopen(name, RTLD_NOW | RTLD_NOLOAD)) {
      if (auto get = reinterpret_cast<get_threads_t>(::dlsym(h, "openblas_get_num_threads"))) before = get();
      ::dlclose(h);  // drops the reference RTLD_NOLOAD took
      break;
    }
  }
  const Blas& b = blas();  // may throw (no OpenBLAS): then this scope never began
  if (b.set_threads) b.set_threads(1);
  g_threads_before = before;
  g_single_depth = 1;
}

BlasSingleThreaded::~BlasSingleThreaded() {
  std::lock_guard<std::mutex> lock(g_single_mu);
  if (--g_single_depth > 0) return;
  const Blas& b = blas();
  if (b.set_threads && g_threads_before > 0) b.set_threads(g_threads_before);
}

std::string blas_description() {
  const Blas& b = blas();
  std::string s = b.config ? b.config() : "unknown BLAS";
  if (b.corename) s += std::string(" (kernels: ") + b.corename() + ")";
  return s;
}

}  // namespace kiln::cpu
