// kiln.Model: built from the layer lines of an experiment file; summary, prediction,
// evaluation, weights files.
#include <memory>

#include "bind.h"
#include "loss/loss.h"
#include "model/build.h"
#include "train/evaluate.h"

namespace kiln::py {

static_assert(sizeof(Real) == sizeof(float), "the Python module links the float32 library");

namespace {

int64_t classes_of(const Model& m) { return m.output_shape().numel(); }

constexpr int64_t kMaxBatch = int64_t{1} << 20;

void check_batch(int64_t batch_size) {
  if (batch_size < 1 || batch_size > kMaxBatch)
    throw pyb::value_error("batch_size: expected an integer in [1, " + std::to_string(kMaxBatch) + "], got " +
                           std::to_string(batch_size));
}

// Softmax probabilities (N, classes) in batches, in eval mode; the softmax is the loss's own.
pyb::array_t<float> predict(PyModel& self, const pyb::handle& x, int64_t batch_size) {
  check_batch(batch_size);
  Model& m = self.model;
  const Tensor all = tensor_from(x, m.input_shape(), "x");
  const int64_t N = all.dim(0), K = classes_of(m), S = m.input_shape().numel();
  pyb::array_t<float> out(std::vector<pyb::ssize_t>{static_cast<pyb::ssize_t>(N), static_cast<pyb::ssize_t>(K)});
  float* o = out.mutable_data();
  {
    InKiln in_kiln;
    SoftmaxCrossEntropy softmax;
    Tensor staging;
    std::vector<int32_t> zeros;
    const Pass pass{Mode::eval, 0, 0, /*backward=*/false};
    for (int64_t i = 0; i < N; i += batch_size) {
      const int64_t n = std::min(batch_size, N - i);
      const Tensor xb = all.slice(i * S, m.input_shape().batched(n));
      const Tensor& logits = m.forward(on_device(xb, staging, m.device()), pass);
      zeros.assign(static_cast<size_t>(n), 0);
      softmax.forward_backward(logits, Targets{zeros, nullptr}, nullptr);
      const Tensor p = softmax.probs().to(Device::cpu);
      std::copy(p.data(), p.data() + n * K, o + i * K);
    }
  }
  return out;
}

pyb::dict evaluate_arrays(PyModel& self, const pyb::handle& x, const pyb::handle& y, int64_t batch_size) {
  check_batch(batch_size);
  Model& m = self.model;
  const Dataset d = dataset_from(x, y, m.input_shape(), classes_of(m), "x", "y");
  Evaluation ev;
  {
    InKiln in_kiln;
    SoftmaxCrossEntropy loss;
    ev = evaluate(m, loss, d, Normalization{}, batch_size, /*keep_predictions=*/false);
  }
  const int K = ev.confusion.classes();
  pyb::array_t<int64_t> cm(std::vector<pyb::ssize_t>{K, K});
  for (int t = 0; t < K; ++t)
    for (int p = 0; p < K; ++p) cm.mutable_at(t, p) = ev.confusion.at(t, p);
  pyb::dict r;
  r["loss"] = ev.loss;
  r["accuracy"] = ev.accuracy;
  r["confusion"] = cm;
  return r;
}

std::vector<int64_t> dims_of(const Shape& s) { return {s.dims().begin(), s.dims().end()}; }

}  // namespace

void bind_model(pyb::module_& m) {
  pyb::class_<PyModel>(m, "Model")
      .def(pyb::init([](const std::vector<std::string>& specs, const std::vector<int64_t>& input_shape, uint64_t seed) {
             if (specs.empty()) throw pyb::value_error("layers: expected a list of layer lines, got an empty list");
             return std::make_unique<PyModel>(PyModel{build_model(shape_from(input_shape, "input_shape"), specs, seed), seed});
           }),
           pyb::arg("layers"), pyb::arg("input_shape"), pyb::arg("seed"))
      .def_static("load", [](const std::string& path) { return std::make_unique<PyModel>(PyModel{load_model(path), 1}); })
      .def("summary_table", [](const PyModel& s) { return s.model.summary_table(); })
      .def("num_parameters", [](const PyModel& s) { return s.model.param_count(); })
      .def_property_readonly("input_shape", [](const PyModel& s) { return dims_of(s.model.input_shape()); })
      .def_property_readonly("output_shape", [](const PyModel& s) { return dims_of(s.model.output_shape()); })
      .def_readonly("seed", &PyModel::seed)
      .def("layer_lines",
           [](const PyModel& s) {
             std::vector<std::string> v;
             for (const auto& row : s.model.summary())
               if (row.depth == 0) v.push_back(row.spec);
             return v;
           })
      .def("predict", &predict, pyb::arg("x"), pyb::arg("batch_size"))
      .def("evaluate", &evaluate_arrays, pyb::arg("x"), pyb::arg("y"), pyb::arg("batch_size"))
      .def("preprocessing",
           [](const PyModel& s) {
             const Preprocessing& p = s.model.preprocessing();
             pyb::dict d;
             d["dataset"] = p.dataset;
             d["mean"] = p.mean;
             d["std"] = p.std;
             d["class_names"] = p.class_names;
             if (p.regression()) {  // a regression on a table: its target column and statistics
               d["target"] = p.label;
               d["target_mean"] = p.target_mean[0];
               d["target_std"] = p.target_std[0];
             }
             return d;
           })
      .def("set_preprocessing",
           [](PyModel& s, const std::string& dataset, const std::vector<float>& mean, const std::vector<float>& std,
              const std::vector<std::string>& class_names) {
             const int64_t K = classes_of(s.model);
             if (!class_names.empty() && static_cast<int64_t>(class_names.size()) != K)
               throw pyb::value_error("class_names: expected " + std::to_string(K) + " names (one per output), got " +
                                      std::to_string(class_names.size()));
             s.model.set_preprocessing({mean, std, class_names, dataset});
           },
           pyb::arg("dataset"), pyb::arg("mean"), pyb::arg("std"), pyb::arg("class_names"))
      .def("save", [](const PyModel& s, const std::string& path) { s.model.save_weights(path); })
      .def("params",
           [](pyb::object self) {
             PyModel& s = self.cast<PyModel&>();
             pyb::dict d;
             for (const auto& p : s.model.named_params()) {
               Tensor v = p.value;
               d[pyb::str(p.name)] = view_of(v, self);
             }
             return d;
           });
}

}  // namespace kiln::py
