// The _kiln extension: kiln::Error (bad input) is a ValueError in Python; internal errors stay
// RuntimeErrors.
#include "bind.h"
#include "tensor/check.h"

PYBIND11_MODULE(_kiln, m) {
  m.doc() = "kiln's C++ core (use the kiln package)";
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
}
