#pragma once
// A model: a chain of layers built at run time for a fixed per-sample input shape, with all
// parameters and gradients gathered into one flat buffer each (named views into it), so the
// optimizer is one loop over one array and a checkpoint is one write (STYLE.md #8).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "layers/sequential.h"
#include "tensor/binio.h"

namespace kiln {

struct NamedTensor {
  std::string name;  // "3.weight": layer path, then parameter name
  Tensor value;
  Tensor grad;       // undefined for buffers
  bool decay = true;
  bool norm = false;  // a normalisation layer's shift (Param::norm)
  bool running = false;  // a buffer the training forward pass updates (Param::running)
};

struct LayerSummary {
  std::string path;   // "0", "4.body.1"
  std::string spec;
  Shape output;       // per batch of 1
  int64_t params = 0;
  int64_t flops = 0;  // forward, per sample
  int depth = 0;
};

// What the model's inputs are and what its outputs mean, saved with its weights so that
// evaluation and prediction need nothing else: the per-channel normalisation of the training
// data (x = (pixel / 255 - mean[c]) / std[c]), the class names, and the dataset format it was
// trained on. Empty (known() false) for a model not trained by kiln or read from an old file.
struct Preprocessing {
  std::vector<float> mean, std;
  std::vector<std::string> class_names;
  std::string dataset;
  // Tables (CSV): the input's column names, in order; mean and std are then per column, in
  // the column's own units (x = (value - mean[i]) / std[i]). Empty for images.
  std::vector<std::string> features = {};
  std::string label = {};  // tables: the class column's name, or a regression's target column ("" for images)
  // Regression: the target's mean and std; the model's output y stands for y · std + mean in
  // the column's units. Empty for classification.
  std::vector<float> target_mean = {}, target_std = {};
  bool known() const { return !mean.empty(); }
  bool regression() const { return !target_mean.empty(); }
};

// What a weights file or checkpoint says about the model before its tensors.
struct ModelHeader {
  std::string architecture;  // the layer specs joined by "; "
  Shape input;               // per sample
};

class Model {
 public:
  // input: the shape of one sample, e.g. {1, 28, 28} or {784}.
  Model(Shape input, Sequential net, uint64_t init_seed);
  Model(Model&&) = default;
  Model& operator=(Model&&) = default;

  const Shape& input_shape() const { return input_; }
  // Moves parameters, gradients (zeroed) and buffers to `device`; inputs must then live there.
  void to(Device device);
  Device device() const { return device_; }
  Shape output_shape() const;  // per sample
  Sequential& net() { return net_; }

  // Runs the network on a batch (N, input...) and returns the output (N, classes...), which
  // stays valid until the next forward.
  const Tensor& forward(const Tensor& x, const Pass& pass);
  // Back-propagates dL/d(output) of the last forward; ADDS into the parameter gradients.
  void backward(const Tensor& dout);
  void zero_grad() { grads_.zero(); }
  // During backward(), after each top-level layer: hook(from), the gradients grads()[from, end)
  // being final from then on (parameters lie in model order, so backward finishes the end of
  // the flat buffer first). Empty: none.
  void set_backward_hook(std::function<void(int64_t from)> hook);

  Tensor& params() { return params_; }  // all parameters, flat
  Tensor& grads() { return grads_; }    // their gradients, same layout
  const std::vector<NamedTensor>& named_params() const { return named_; }
  const std::vector<NamedTensor>& named_buffers() const { return buffers_; }
  // The running statistics (buffers tagged Param::running: batch-norm means and variances),
  // gathered like the parameters into one flat buffer, in the order of named_buffers(): the
  // state a training forward pass changes besides the parameters. A weight EMA averages it
  // with them (TrainStep, TrainLoop::with_averaged_weights) without knowing which layers it
  // comes from. Empty (0 elements) for a model without any.
  Tensor& running_stats() { return stats_; }
  const Tensor& running_stats() const { return stats_; }
  int64_t param_count() const { return params_.numel(); }
  // A mask over the flat parameters: 1 where weight decay applies, 0 elsewhere.
  const Tensor& decay_mask() const { return decay_mask_; }

  // Data-dependent initialisation: whether a top-level layer wants it (Layer::wants_data), and
  // running it on a batch x (N, input...) of normalised training samples on the host: each such
  // layer gets x through the layers before it (eval mode). Call before to(device).
  bool wants_data() const;
  void init_from_data(const Tensor& x);

  const Preprocessing& preprocessing() const { return prep_; }
  void set_preprocessing(Preprocessing p);  // checks one mean and std per input channel

  // Takes the parameters and buffers of `other`, a model of the same layer shapes (another spec
  // spelling, an imported ONNX file); throws kiln::Error naming the first that differs.
  void copy_weights_from(const Model& other, const std::string& what);

  std::vector<LayerSummary> summary() const;
  // Keras-style table: layer, output shape, parameters, FLOPs, with totals.
  std::string summary_table() const;

  // Weights file (docs/formats.md): magic "KILNWTS1", version, architecture string, input
  // shape, preprocessing, named tensors, CRC-32 of everything before it. load() checks all of
  // it against this model and takes the preprocessing from the file.
  void save_weights(const std::string& path) const;
  void load_weights(const std::string& path);
  // The body of a weights file (architecture, input shape, preprocessing, tensors), also
  // embedded in checkpoints. Version 1 bodies have no preprocessing; version 4 adds a
  // regression's target statistics.
  static constexpr uint32_t kFormatVersion = 4;
  void write_tensors(BinWriter& w) const;
  void read_tensors(BinReader& r, uint32_t version);
  static ModelHeader read_header(BinReader& r);

 private:
  void bind(Device device);
  Shape input_;
  Device device_ = Device::cpu;
  Sequential net_;
  Tensor params_, grads_, stats_;
  std::vector<NamedTensor> named_, buffers_;
  Tensor decay_mask_;
  std::vector<int64_t> layer_start_;  // flat offset of top-level layer i's first parameter
  Preprocessing prep_;
  Tensor x_cache_, out_;
  bool has_forward_ = false;
};

}  // namespace kiln
