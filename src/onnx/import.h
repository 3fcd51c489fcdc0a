#pragma once
// An ONNX file as a kiln model: a chain of operators (what torch.onnx.export writes for a
// sequential CNN or MLP, and what `kiln export` writes) becomes the layer specs it is, with
// the initializers as weights. Sub/Div by constants before the first layer become the
// model's normalisation; a final Softmax is left out (kiln's output is the logits).
// Unsupported operators, attributes and branching graphs are errors naming them.
#include <string>

#include "model/model.h"

namespace kiln {

Model import_onnx_file(const std::string& path);
Model import_onnx(const std::string& bytes, const std::string& name);

}  // namespace kiln
