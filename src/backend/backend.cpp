#include "backend/backend.h"

namespace kiln {

Backend& backend(Device device) {
  if (device == Device::cpu) return cpu_backend();
  Backend* b = cuda_backend();  // throws when built but no GPU is usable
  if (!b) throw Error("this build of kiln has no CUDA backend (nvcc was not found when it was configured)");
  return *b;
}

bool device_available(Device device) {
  if (device == Device::cpu) return true;
  try {
    return cuda_backend() != nullptr;
  } catch (const Error&) {
    return false;  // built with CUDA, but no usable GPU
  }
}

}  // namespace kiln
