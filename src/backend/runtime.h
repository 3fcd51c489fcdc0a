#pragma once
// The process-wide settings of the compute, in one place: which device runs the kernels, how
// many threads kiln's pool has, and a description of the machine (for run folders, reports and
// benchmark tables). The trainer, the CLI and the Python module set them here; nothing above
// the backend reaches into backend/cpu/ for them.
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace kiln {

// "cpu" or "cuda"; throws kiln::Error for anything else, or when this build or machine cannot
// run on it (saying why: no CUDA backend in the build, no usable GPU).
Device require_device(const std::string& name);

// Sets the size of kiln's one thread pool (0: all cores; backend/cpu/threads.h). The BLAS stays
// single-threaded and large GEMMs are split over this pool (backend/cpu/blas.h), so nothing
// oversubscribes. Throws kiln::Error outside [0, kMaxThreads].
constexpr int kMaxThreads = 1024;
void set_threads(int64_t threads);
int thread_count();  // the pool's size

// Whether convolution weight gradients must keep their exact zeros (backend/cpu/conv.h):
// set for optimizers that divide by the gradient's scale, where tiny rounding errors on
// entries whose gradient is exactly 0 become whole steps. Returns the previous setting.
bool set_exact_weight_gradients(bool exact);

// Mixed precision (train.precision = "bf16") on `device`: GEMMs and convolutions round their
// inputs to bf16 and sum in fp32 (backend/cpu/gemm_bf16.h); weights, gradients, optimizer
// state, batch norm and the loss stay fp32. Returns the previous setting. Throws kiln::Error,
// naming what is missing, where there is no bf16 path: a CPU without AVX512-BF16, the CUDA
// backend (none yet), the double build.
bool set_bf16(Device device, bool on);

// The CPU's model name ("AMD EPYC 9B14"), from /proc/cpuinfo.
std::string cpu_model();
// The compute as key-value pairs: cpu, cores, threads, blas (and the device when it is not
// the CPU).
std::vector<std::pair<std::string, std::string>> compute_description(Device device = Device::cpu);

}  // namespace kiln
