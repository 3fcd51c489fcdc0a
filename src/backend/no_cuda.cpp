// Builds without the CUDA backend (CMake found no nvcc) link this instead of backend/cuda/.
#include "backend/backend.h"

namespace kiln {

Backend* cuda_backend() { return nullptr; }
bool cuda_backend_built() { return false; }
int cuda_devices_reported() { return 0; }

}  // namespace kiln
