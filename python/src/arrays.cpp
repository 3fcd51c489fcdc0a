// numpy arrays in and out, checked where they enter.
#include <algorithm>
#include <cstring>

#include "bind.h"

namespace kiln::py {

namespace {

std::string shape_text(const pyb::array& a) {
  std::string s = "(";
  for (pyb::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

std::string expected_text(const Shape& sample) {
  std::string s = "(N";
  for (int64_t d : sample.dims()) s += ", " + std::to_string(d);
  return s + ")";
}

pyb::array as_array(const pyb::handle& h, const std::string& name) {
  if (!pyb::isinstance<pyb::array>(h))
    throw pyb::value_error(name + ": expected a numpy array, got " + std::string(pyb::str(pyb::type::of(h).attr("__name__"))));
  return pyb::reinterpret_borrow<pyb::array>(h);
}

// x as a C-contiguous float32 array of shape (N, sample...).
pyb::array_t<float, pyb::array::c_style> samples(const pyb::handle& h, const Shape& sample, const std::string& name) {
  pyb::array a = as_array(h, name);
  if (!a.dtype().is(pyb::dtype::of<float>()))
    throw pyb::value_error(name + ": expected float32 samples of shape " + expected_text(sample) + ", got dtype " +
                           std::string(pyb::str(a.dtype())) + " (use x.astype(numpy.float32))");
  bool ok = a.ndim() == sample.rank() + 1 && a.shape(0) > 0;
  for (int i = 0; ok && i < sample.rank(); ++i) ok = a.shape(i + 1) == sample[i];
  if (!ok)
    throw pyb::value_error(name + ": expected float32 samples of shape " + expected_text(sample) +
                           " (the model's input shape, N > 0), got shape " + shape_text(a));
  return pyb::array_t<float, pyb::array::c_style>::ensure(a);
}

}  // namespace

Shape shape_from(const std::vector<int64_t>& dims, const std::string& name) {
  if (dims.empty() || dims.size() > 3 || std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d <= 0; }))
    throw pyb::value_error(name + ": expected 1 to 3 positive sizes per sample, (C, H, W) or (features,)");
  return Shape(dims);
}

Tensor tensor_from(const pyb::handle& h, const Shape& sample, const std::string& name) {
  auto a = samples(h, sample, name);
  Tensor t(sample.batched(a.shape(0)));
  std::copy(a.data(), a.data() + a.size(), t.data());
  return t;
}

Dataset dataset_from(const pyb::handle& x, const pyb::handle& y, const Shape& sample, int64_t classes,
                     const std::string& xname, const std::string& yname) {
  auto xs = samples(x, sample, xname);
  pyb::array ya = as_array(y, yname);
  const char kind = ya.dtype().kind();
  if ((kind != 'i' && kind != 'u') || ya.ndim() != 1)
    throw pyb::value_error(yname + ": expected integer labels of shape (N,), got dtype " + std::string(pyb::str(ya.dtype())) +
                           " and shape " + shape_text(ya));
  if (ya.shape(0) != xs.shape(0))
    throw pyb::value_error(yname + ": " + std::to_string(ya.shape(0)) + " labels for " + std::to_string(xs.shape(0)) +
                           " samples in " + xname);
  auto labels = pyb::array_t<int64_t, pyb::array::c_style | pyb::array::forcecast>::ensure(ya);
  Dataset d;
  d.source = xname;
  d.sample = sample;
  d.floats = true;
  d.values.assign(xs.data(), xs.data() + xs.size());
  d.labels.resize(static_cast<size_t>(labels.size()));
  for (pyb::ssize_t i = 0; i < labels.size(); ++i) {
    const int64_t v = labels.data()[i];
    if (v < 0 || v >= classes)
      throw pyb::value_error(yname + "[" + std::to_string(i) + "] = " + std::to_string(v) + ": labels must be in [0, " +
                             std::to_string(classes) + ") for a model with " + std::to_string(classes) + " outputs");
    d.labels[static_cast<size_t>(i)] = static_cast<int32_t>(v);
  }
  for (int64_t k = 0; k < classes; ++k) d.class_names.push_back(std::to_string(k));
  return d;
}

pyb::array_t<float> array_of(const Tensor& t) {
  const Tensor h = t.to(Device::cpu);
  std::vector<pyb::ssize_t> dims(h.shape().dims().begin(), h.shape().dims().end());
  pyb::array_t<float> a(dims);
  std::copy(h.data(), h.data() + h.numel(), a.mutable_data());
  return a;
}

pyb::array_t<float> view_of(Tensor& t, pyb::handle owner) {
  if (t.device() != Device::cpu) throw pyb::value_error("a view of a tensor on the GPU: move the model to the CPU first");
  std::vector<pyb::ssize_t> dims(t.shape().dims().begin(), t.shape().dims().end());
  return pyb::array_t<float>(dims, t.data(), owner);
}

}  // namespace kiln::py
