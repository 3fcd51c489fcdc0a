#pragma once
// A kiln model as an ONNX graph (opset 13), written with kiln's own protobuf writer
// (onnx/proto.h): the normalisation first (Sub, Div), so that the graph takes raw pixels in
// [0, 1] as input "input" (N, C, H, W), then one node or a few per layer; the output "logits"
// is the model's output (apply Softmax for probabilities), and "probabilities" its softmax.
#include <string>

#include "model/model.h"

namespace kiln {

// The ONNX file's bytes; throws kiln::Error naming a layer that has no ONNX form.
std::string export_onnx(Model& model, const std::string& graph_name);
void export_onnx_file(Model& model, const std::string& graph_name, const std::string& path);

}  // namespace kiln
