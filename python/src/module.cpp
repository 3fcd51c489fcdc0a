// The _kiln extension: kiln::Error (bad input) is a ValueError in Python; internal errors stay
// RuntimeErrors.
#include "backend/cpu/blas.h"
#include "backend/runtime.h"
#include "bind.h"
#include "tensor/check.h"

PYBIND11_MODULE(_kiln, m) {
  m.doc() = "kiln's C++ core (use the kiln package)";
  // OpenBLAS picks its kernels once, when loaded; if numpy has not loaded it yet, kiln's choice
  // (backend/cpu/blas.h) is the one it will read (else kiln loads a copy of its own).
  kiln::cpu::choose_blas_kernels();
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const kiln::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  kiln::py::bind_model(m);
  kiln::py::bind_fit(m);
  kiln::py::bind_layers(m);
  kiln::py::bind_runs(m);
  // What kiln computes with here, as a run's manifest records it (cpu, cores, threads, blas).
  m.def("system_info", [] {
    std::vector<std::pair<std::string, std::string>> kv;
    {
      kiln::py::InKiln in_kiln;  // loads the BLAS as training does, numpy's thread count kept
      kv = kiln::compute_description(kiln::Device::cpu);
    }
    pybind11::dict d;
    for (const auto& [k, v] : kv) d[pybind11::str(k)] = v;
    return d;
  });
}
