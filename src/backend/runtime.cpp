#include "backend/runtime.h"

#include <fstream>
#include <thread>

#include "backend/backend.h"
#include "backend/cpu/blas.h"
#include "backend/cpu/conv.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/threads.h"

namespace kiln {

Device require_device(const std::string& name) {
  if (name != "cpu" && name != "cuda") throw Error("device '" + name + "': expected cpu or cuda");
  const Device d = name == "cuda" ? Device::cuda : Device::cpu;
  if (!device_available(d))
    throw Error("train.device = \"" + name + "\": " +
                (cuda_backend_built() ? std::string("no usable NVIDIA GPU was found")
                                      : std::string("this build of kiln has no CUDA backend (configure it where nvcc is installed)")));
  return d;
}

void set_threads(int64_t threads) {
  if (threads < 0 || threads > kMaxThreads)
    throw Error("threads: " + std::to_string(threads) + " is outside [0, " + std::to_string(kMaxThreads) +
                "] (0: all cores)");
  cpu::set_thread_count(static_cast<int>(threads));
}

int thread_count() { return cpu::thread_count(); }

bool set_bf16(Device device, bool on) {
  if (device == Device::cpu) return cpu::set_gemm_bf16(on);
  KILN_REQUIRE(!on, "train.precision = \"bf16\": the CUDA backend has no bf16 path yet; use \"tf32\" or \"fp32\"");
  return false;
}

bool set_exact_weight_gradients(bool exact) { return cpu::set_exact_weight_gradients(exact); }

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      auto c = line.find(':');
      return c == std::string::npos ? line : line.substr(c + 2);
    }
  return "unknown";
}

std::vector<std::pair<std::string, std::string>> compute_description(Device device) {
  std::vector<std::pair<std::string, std::string>> kv{
      {"cpu", cpu_model()},
      {"cores", std::to_string(std::thread::hardware_concurrency())},
      {"threads", std::to_string(thread_count())},
      {"blas", cpu::blas_description()},
  };
  if (device != Device::cpu) kv.emplace_back("device", backend(device).describe());
  return kv;
}

}  // namespace kiln
