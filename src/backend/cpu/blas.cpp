#include "backend/cpu/blas.h"

#include <dlfcn.h>
#include <strings.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

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
  // A copy of kiln's own (dlmopen), beside the process's OpenBLAS that runs `shared_kernels`.
  bool own = false;
  std::string shared_kernels;
};

// The OpenBLAS this process has loaded already (numpy's, in Python), or null.
void* loaded_already() {
  for (const char* name : kLibraryNames)
    if (void* h = ::dlopen(name, RTLD_NOW | RTLD_NOLOAD)) return h;
  return nullptr;
}

// The kernels an OpenBLAS runs ("Prescott", "Cooperlake"), "" if it does not say.
std::string kernels_of(void* h) {
  auto corename = reinterpret_cast<get_str_t>(::dlsym(h, "openblas_get_corename"));
  return corename ? corename() : "";
}

// An OpenBLAS loaded before kiln could set OPENBLAS_CORETYPE picked its kernels from the CPU
// model, and Debian 12's does not know recent Xeons (model 207): numpy's then runs the SSE3
// Prescott kernels, 2.6x slower on kiln's dense layers, and kiln's sums differ from the CLI's.
// kiln then loads a copy of its own in a linker namespace of its own (dlmopen), which reads
// the variable and which kiln alone uses (always single-threaded); numpy keeps its library
// as it was. Null where that fails (the caller shares the loaded one and says so).
void* own_copy(void* shared, std::string* why) {
  const char* wanted = std::getenv("OPENBLAS_CORETYPE");
  const std::string has = kernels_of(shared);
  if (!wanted || has.empty() || ::strcasecmp(has.c_str(), wanted) == 0) return nullptr;
  for (const char* name : kLibraryNames)
    if (void* h = ::dlmopen(LM_ID_NEWLM, name, RTLD_NOW | RTLD_LOCAL)) return h;
  *why = ::dlerror();
  return nullptr;
}

const Blas& blas() {
  static Blas b;
  static std::once_flag once;
  std::call_once(once, [] {
    choose_blas_kernels();
    ::setenv("OPENBLAS_NUM_THREADS", "1", 0);  // kiln's pool does the threading (see blas.h)
    void* h = loaded_already();
    if (h) {
      std::string why;
      if (void* own = own_copy(h, &why)) {
        b.own = true;
        b.shared_kernels = kernels_of(h);
        h = own;
      } else if (!why.empty()) {
        std::fprintf(stderr, "kiln: the process's OpenBLAS (numpy's?) runs its %s kernels, not %s, and kiln could not "
                     "load a copy of its own (%s): kiln shares it, slower; set OPENBLAS_CORETYPE=%s before starting "
                     "the process\n", kernels_of(h).c_str(), std::getenv("OPENBLAS_CORETYPE"), why.c_str(),
                     std::getenv("OPENBLAS_CORETYPE"));
      }
    } else {
      for (const char* name : kLibraryNames)
        if ((h = ::dlopen(name, RTLD_NOW | RTLD_GLOBAL))) break;
    }
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
  if (void* h = loaded_already()) {
    if (auto get = reinterpret_cast<get_threads_t>(::dlsym(h, "openblas_get_num_threads"))) before = get();
    ::dlclose(h);  // drops the reference RTLD_NOLOAD took
  }
  const Blas& b = blas();  // may throw (no OpenBLAS): then this scope never began
  if (b.set_threads) b.set_threads(1);
  // A copy of kiln's own is always single-threaded, and numpy's is not kiln's to change.
  g_threads_before = b.own ? 0 : before;
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
  if (b.own) s += ", a copy of kiln's own beside the process's (kernels: " + b.shared_kernels + ")";
  return s;
}

}  // namespace kiln::cpu
