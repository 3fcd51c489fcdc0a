#include "model/build.h"

#include "layers/activation.h"
#include "layers/batchnorm.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/pool.h"
#include "layers/residual.h"
#include "model/spec.h"

namespace kiln {

std::vector<std::string> split_specs(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (depth < 0) throw Error("unbalanced '}' in '" + text + "'");
    if (c == ';' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (depth != 0) throw Error("unbalanced '{' in '" + text + "'");
  out.push_back(cur);
  std::vector<std::string> trimmed;
  for (auto& s : out) {
    auto a = s.find_first_not_of(" \t\n"), b = s.find_last_not_of(" \t\n");
    if (a != std::string::npos) trimmed.push_back(s.substr(a, b - a + 1));
  }
  return trimmed;
}

static std::unique_ptr<Layer> build_residual(const std::string& text, const Shape& in, uint64_t& stream) {
  auto open = text.find('{'), close = text.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open)
    throw Error("layer '" + text + "': expected 'residual { layer; layer; ... }'");
  SpecLine head(text.substr(0, open), "layer");
  bool force_proj = head.has_positional() && head.positional("") == "proj";
  head.finish();
  Sequential body = build_layers(split_specs(text.substr(open + 1, close - open - 1)), in, stream);
  Shape out = body.output_shape(in);
  std::unique_ptr<Conv2d> proj;
  if (force_proj || out != in) {
    if (in.rank() != 4 || out.rank() != 4)
      throw Error("layer '" + text + "': a projection skip needs image input and output, got " + in.str() + " -> " + out.str());
    const int64_t stride = in[2] / out[2];
    proj = std::make_unique<Conv2d>(in[1], out[1], 1, 1, stride, 0, false);
  }
  return std::make_unique<Residual>(std::move(body), std::move(proj));
}

static std::unique_ptr<Layer> build_layer(const std::string& text, const Shape& in, uint64_t& stream) {
  if (text.find('{') != std::string::npos) return build_residual(text, in, stream);
  SpecLine s(text, "layer");
  std::unique_ptr<Layer> layer;
  auto need_image = [&] {
    if (in.rank() != 4) s.fail("needs image input (N, C, H, W), got " + in.str());
  };
  if (s.name == "dense" || s.name == "linear" || s.name == "fc") {
    int64_t out = s.positional_int("output size");
    layer = std::make_unique<Dense>(in.per_sample(), out, s.option_bool("bias", true));
  } else if (s.name == "conv" || s.name == "conv2d") {
    need_image();
    int64_t k = s.positional_int("output channels");
    auto [r, c] = s.positional_size("kernel size");
    int64_t stride = s.option_int("stride", 1), pad = s.option_int("pad", 0);
    if (k <= 0 || r <= 0 || c <= 0 || stride <= 0 || pad < 0) s.fail("sizes must be positive (pad ≥ 0)");
    layer = std::make_unique<Conv2d>(in[1], k, r, c, stride, pad, s.option_bool("bias", true));
  } else if (s.name == "maxpool" || s.name == "avgpool") {
    need_image();
    auto [k, k2] = s.positional_size("window size");
    if (k != k2) s.fail("only square windows are supported");
    int64_t stride = s.option_int("stride", k);
    if (k <= 0 || stride <= 0) s.fail("window and stride must be positive");
    if (s.name == "maxpool")
      layer = std::make_unique<MaxPool2d>(k, stride);
    else
      layer = std::make_unique<AvgPool2d>(k, stride);
  } else if (s.name == "gap" || s.name == "globalavgpool") {
    need_image();
    layer = std::make_unique<GlobalAvgPool>();
  } else if (s.name == "relu") {
    layer = std::make_unique<ReLU>();
  } else if (s.name == "leakyrelu" || s.name == "leaky_relu") {
    double slope = s.has_positional() ? s.positional_double("slope") : s.option_double("slope", 0.01);
    layer = std::make_unique<LeakyReLU>(static_cast<Real>(slope));
  } else if (s.name == "tanh") {
    layer = std::make_unique<Tanh>();
  } else if (s.name == "sigmoid") {
    layer = std::make_unique<Sigmoid>();
  } else if (s.name == "dropout") {
    double p = s.has_positional() ? s.positional_double("probability") : s.option_double("p", 0.5);
    if (!(p >= 0 && p < 1)) s.fail("dropout probability must be in [0, 1)");
    layer = std::make_unique<Dropout>(static_cast<Real>(p), stream++);
  } else if (s.name == "bn" || s.name == "batchnorm") {
    if (in.rank() != 2 && in.rank() != 4) s.fail("needs (N, F) or (N, C, H, W) input, got " + in.str());
    double m = s.option_double("momentum", 0.1), eps = s.option_double("eps", 1e-5);
    layer = std::make_unique<BatchNorm>(in[1], static_cast<Real>(m), static_cast<Real>(eps));
  } else if (s.name == "flatten") {
    layer = std::make_unique<Flatten>();
  } else {
    s.fail("unknown layer '" + s.name +
           "' (known: dense, conv, maxpool, avgpool, gap, relu, leakyrelu, tanh, sigmoid, dropout, bn, flatten, residual)");
  }
  s.finish();
  try {
    layer->output_shape(in);
  } catch (const Error& e) {
    s.fail(e.what());
  }
  return layer;
}

Sequential build_layers(const std::vector<std::string>& specs, const Shape& batched_input, uint64_t& stream) {
  Sequential net;
  Shape s = batched_input;
  for (const auto& text : specs) {
    auto layer = build_layer(text, s, stream);
    s = layer->output_shape(s);
    net.add(std::move(layer));
  }
  return net;
}

Model build_model(const Shape& input, const std::vector<std::string>& specs, uint64_t seed) {
  uint64_t stream = 0;
  return Model(input, build_layers(specs, input.batched(1), stream), seed);
}

}  // namespace kiln
