// world() of a build without MPI (CMake found none): one process only. Started by mpirun as
// one of several ranks, it says so instead of training N independent copies.
#include <cstdlib>

#include "dist/comm.h"

namespace kiln {

bool mpi_built() { return false; }

Comm* world_if_started() { return nullptr; }

Comm& world() {
  static std::unique_ptr<Comm> local = local_comm();
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    const char* v = std::getenv(var);
    if (v && std::atoi(v) > 1)
      throw Error(std::string("started as one of ") + v + " ranks, but this kiln was built without MPI (CMake found " +
                  "none): install libopenmpi-dev (scripts/deps.sh) and rebuild, or run one process");
  }
  return *local;
}

}  // namespace kiln
