#include <cstdio>

#include "cli/commands.h"
#include "onnx/export.h"
#include "train/saved_run.h"

namespace kiln::cli {

namespace {

int run(const Args& a) {
  SavedRun saved = open_saved_run(a.positional[0]);
  saved.model.to(Device::cpu);
  const std::string out = a.positional[1];
  export_onnx_file(saved.model, saved.experiment ? saved.experiment->name : "kiln", out);
  std::printf("%s: ONNX (opset 13) of %s; input \"input\" %s of pixels in [0, 1], outputs \"logits\" and "
              "\"probabilities\"\n",
              out.c_str(), saved.file.c_str(), saved.model.input_shape().str().c_str());
  return 0;
}

}  // namespace

Command export_command() {
  return {{"export",
           "write a trained model as an ONNX graph (normalisation included: it takes pixels in [0, 1])",
           "RUN|FILE OUT.onnx",
           "a run folder or a weights.kiln / checkpoint.kiln, then the ONNX file to write",
           2,
           2,
           {},
           "examples:\n  kiln export runs/mnist-cnn-20261123-101500 mnist.onnx\n"},
          run};
}

}  // namespace kiln::cli
