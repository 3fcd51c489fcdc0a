#pragma once
// The kiln Python module (_kiln): thin bindings over the library, one file per part. The
// Python package (python/kiln/) wraps them in the documented API.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backend/cpu/blas.h"
#include "data/dataset.h"
#include "model/model.h"

namespace kiln::py {

namespace pyb = pybind11;

// What every call into the library holds while it runs: the GIL released (other Python threads
// go on; Ctrl-C is seen at the next batch), and the process's OpenBLAS, where it is numpy's
// too (backend/cpu/blas.h), single-threaded for kiln's pool and given back to numpy as it was
// afterwards.
struct InKiln {
  pyb::gil_scoped_release nogil;
  cpu::BlasSingleThreaded blas;
};

// A model and the seed its weights were drawn from (fit's default seed, as an experiment's
// seed is both).
struct PyModel {
  Model model;
  uint64_t seed = 1;
};

// Arrays in: float32 samples of the model's input shape (N, ...) and integer labels (N,) in
// [0, classes). Anything else is a ValueError naming the argument and what was expected.
Dataset dataset_from(const pyb::handle& x, const pyb::handle& y, const Shape& sample, int64_t classes,
                     const std::string& xname, const std::string& yname);
// A float32 batch (N, sample...) as a host tensor.
Tensor tensor_from(const pyb::handle& x, const Shape& sample, const std::string& name);
// A host tensor out, as a new float32 array.
pyb::array_t<float> array_of(const Tensor& t);
// A view of a tensor's memory that keeps `owner` alive.
pyb::array_t<float> view_of(Tensor& t, pyb::handle owner);
Shape shape_from(const std::vector<int64_t>& dims, const std::string& name);

void bind_model(pyb::module_& m);   // model.cpp
void bind_fit(pyb::module_& m);     // fit.cpp
void bind_layers(pyb::module_& m);  // layers.cpp: single layers, gradient checks
void bind_runs(pyb::module_& m);    // runs.cpp: the trainer, run folders

}  // namespace kiln::py
