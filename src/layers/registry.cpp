#include "layers/registry.h"

#include "layers/activation.h"
#include "layers/batchnorm.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/flatten.h"
#include "layers/pool.h"
#include "layers/residual.h"
#include "layers/whiten.h"
#include "tensor/suggest.h"

namespace kiln {

// The table: one line per layer kind.
const std::vector<LayerKind>& layer_kinds() {
  static const std::vector<LayerKind> kinds{
      Dense::kind(),   Conv2d::kind(),  MaxPool2d::kind(), AvgPool2d::kind(), GlobalAvgPool::kind(),
      ReLU::kind(),    LeakyReLU::kind(), Tanh::kind(),    Sigmoid::kind(),   GELU::kind(),      Dropout::kind(),
      BatchNorm::kind(), Flatten::kind(), Residual::kind(), Whiten::kind(), Scale::kind(),
  };
  return kinds;
}

namespace {

const LayerKind& find_kind(const SpecLine& line) {
  std::vector<std::string> names;
  for (const auto& k : layer_kinds()) {
    if (k.name == line.name || std::find(k.aliases.begin(), k.aliases.end(), line.name) != k.aliases.end()) return k;
    names.push_back(k.name);
  }
  line.fail("unknown layer '" + line.name + "'" + did_you_mean(line.name, names) + " (known: " + join_or(names) + ")");
}

std::unique_ptr<Layer> build_layer(const std::string& text, const BuildContext& ctx) {
  SpecLine line(text, "layer");
  const LayerKind& kind = find_kind(line);
  std::unique_ptr<Layer> layer;
  try {
    layer = kind.parse(line, ctx);
    line.finish();
    layer->output_shape(ctx.input);
  } catch (const Error& e) {
    // Errors from the line itself already name it; those of the layer's constructor or shape
    // check get it added here.
    const std::string msg = e.what();
    if (msg.rfind("layer '", 0) == 0) throw;
    line.fail(msg + " (syntax: " + kind.syntax + ")");
  }
  return layer;
}

}  // namespace

Sequential BuildContext::build_block(const std::string& text) const {
  return build_layers(split_specs(text), input, *stream, depth + 1);
}

void BuildContext::need_image(const SpecLine& line) const {
  if (input.rank() != 4) line.fail("needs image input (N, C, H, W), got " + input.str());
}

Sequential build_layers(const std::vector<std::string>& specs, const Shape& batched_input, uint64_t& stream, int depth) {
  if (depth > kMaxBlockDepth)
    throw Error("blocks nested more than " + std::to_string(kMaxBlockDepth) + " deep");
  Sequential net;
  BuildContext ctx{batched_input, &stream, depth};
  for (const auto& text : specs) {
    auto layer = build_layer(text, ctx);
    ctx.input = layer->output_shape(ctx.input);
    net.add(std::move(layer));
  }
  return net;
}

}  // namespace kiln
