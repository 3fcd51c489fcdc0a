// The course view: one layer alone (forward, backward returning dL/dx, its parameters and
// gradients as numpy views), and gradient checks of a layer or a model with a relative error
// per parameter (gradcheck/gradcheck.h).
#include <memory>

#include "bind.h"
#include "gradcheck/gradcheck.h"
#include "model/build.h"
#include "tensor/rng.h"

namespace kiln::py {

namespace {

// A layer from its spec line, for a per-sample input shape. A one-layer model holds it, so
// that its parameters are initialised as in a network and live in one flat buffer.
struct PyLayer {
  Model model;
  Tensor x, y, dx;
  bool has_forward = false;
  Layer& layer() { return model.net(); }
};

const Pass kTrainPass{Mode::train, 1, 0, true};

pyb::array_t<float> forward(PyLayer& s, const pyb::handle& xa) {
  s.x = tensor_from(xa, s.model.input_shape(), "x");
  {
    InKiln in_kiln;
    s.y.ensure(s.layer().output_shape(s.x.shape()), Device::cpu);
    s.layer().forward(s.x, s.y, kTrainPass);
  }
  s.has_forward = true;
  return array_of(s.y);
}

// dL/dx for dL/dy = dy; the parameter gradients are this backward's (zeroed first).
pyb::array_t<float> backward(PyLayer& s, const pyb::handle& dya) {
  if (!s.has_forward) throw pyb::value_error("backward(dy): call forward(x) first");
  const Shape out = s.y.shape();
  const Tensor dy = tensor_from(dya, out.unbatched(), "dy");
  if (dy.shape() != out)
    throw pyb::value_error("dy: expected the shape of the last forward's output " + out.str() + ", got " + dy.shape().str());
  {
    InKiln in_kiln;
    s.model.zero_grad();
    s.dx.ensure(s.x.shape(), Device::cpu);
    s.layer().backward(s.x, s.y, dy, &s.dx);
  }
  return array_of(s.dx);
}

// Name -> view of each parameter (or its gradient), without the model's layer path.
pyb::dict tensors(pyb::object self, bool grads) {
  PyLayer& s = self.cast<PyLayer&>();
  pyb::dict d;
  for (const auto& p : s.model.named_params()) {
    Tensor t = grads ? p.grad : p.value;
    d[pyb::str(p.name.substr(p.name.find('.') + 1))] = view_of(t, self);
  }
  return d;
}

pyb::dict per_tensor(const GradCheckResult& r) {
  pyb::dict d;
  for (const auto& t : r.tensors) d[pyb::str(t.name)] = t.max_relative;
  return d;
}

// A layer through L = Σ r ⊙ f(x), r = dy (or U(-1, 1)); the input's error is "input".
pyb::dict check_layer_at(PyLayer& s, const pyb::handle& xa, const pyb::handle& dya) {
  Tensor x = tensor_from(xa, s.model.input_shape(), "x");
  const Shape out = s.layer().output_shape(x.shape());
  Tensor r(out), y(out), dx(x.shape());
  if (dya.is_none()) {
    Rng rng(1);
    for (int64_t i = 0; i < r.numel(); ++i) r[i] = static_cast<Real>(rng.uniform(-1, 1));
  } else {
    r = tensor_from(dya, out.unbatched(), "y");
    if (r.shape() != out) throw pyb::value_error("y: expected dL/d(output) of shape " + out.str() + ", got " + r.shape().str());
  }
  GradCheckResult res;
  {
    InKiln in_kiln;
    auto loss = [&] {
      s.layer().forward(x, y, kTrainPass);
      double sum = 0;
      for (int64_t i = 0; i < y.numel(); ++i) sum += static_cast<double>(r[i]) * y[i];
      return sum;
    };
    s.model.zero_grad();
    loss();
    s.layer().backward(x, y, r, &dx);
    std::vector<GradProbe> probes{{"input", x, dx.clone()}};
    for (const auto& p : s.model.named_params()) probes.push_back({p.name.substr(p.name.find('.') + 1), p.value, p.grad.clone()});
    res = check_gradients(loss, probes);
  }
  return per_tensor(res);
}

pyb::dict check_model_at(PyModel& s, const pyb::handle& xa, const pyb::handle& ya) {
  Model& m = s.model;
  const Dataset d = dataset_from(xa, ya, m.input_shape(), m.output_shape().numel(), "x", "y");
  if (m.device() != Device::cpu) throw pyb::value_error("gradcheck: the model must be on the CPU");
  Tensor x(m.input_shape().batched(d.size()));
  std::copy(d.values.begin(), d.values.end(), x.data());
  GradCheckResult res;
  {
    InKiln in_kiln;
    SoftmaxCrossEntropy loss;
    res = check_model(m, loss, x, Targets{d.labels, nullptr}, kTrainPass);
  }
  return per_tensor(res);
}

}  // namespace

void bind_layers(pyb::module_& m) {
  pyb::class_<PyLayer>(m, "Layer")
      .def(pyb::init([](const std::string& spec, const std::vector<int64_t>& input_shape, uint64_t seed) {
             Model model = build_model(shape_from(input_shape, "input_shape"), {spec}, seed);
             return std::make_unique<PyLayer>(PyLayer{std::move(model), {}, {}, {}, false});
           }),
           pyb::arg("spec"), pyb::arg("input_shape"), pyb::arg("seed"))
      .def("forward", &forward, pyb::arg("x"))
      .def("backward", &backward, pyb::arg("dy"))
      .def_property_readonly("params", [](pyb::object self) { return tensors(self, false); })
      .def_property_readonly("grads", [](pyb::object self) { return tensors(self, true); })
      .def_property_readonly("spec", [](PyLayer& s) { return s.model.summary().at(0).spec; })
      .def("gradcheck", &check_layer_at, pyb::arg("x"), pyb::arg("y"));
  m.def("gradcheck_model", &check_model_at, pyb::arg("model"), pyb::arg("x"), pyb::arg("y"));
}

}  // namespace kiln::py
