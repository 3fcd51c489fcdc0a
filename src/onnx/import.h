#pragma once
// An ONNX file as a kiln model: what `kiln export` writes, and what torch.onnx.export writes
// for sequential CNNs, MLPs and ResNets (residual Adds, BN, the Shape/Gather/Concat/Reshape
// chain of x.view(x.size(0), -1)), becomes the layer specs it is, with the initializers as
// weights. Sub/Div by constants before the first layer become the model's normalisation; a
// final Softmax is left out (kiln's output is the logits). Unsupported operators, attributes
// and graph shapes are errors naming the node and listing what is read (docs/formats.md).
#include <string>

#include "model/model.h"

namespace kiln {

Model import_onnx_file(const std::string& path);
Model import_onnx(const std::string& bytes, const std::string& name);

}  // namespace kiln
