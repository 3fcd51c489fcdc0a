// TEMPORARY: the CUDA backend is being written. Until then a CUDA build behaves as CPU-only.
#include "backend/backend.h"

namespace kiln {

Backend* cuda_backend() { return nullptr; }
bool cuda_backend_built() { return true; }

}  // namespace kiln
