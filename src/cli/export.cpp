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

// ONNX -> weights.kiln: the importer's model in the file `kiln eval`, `predict` and `train
// --init` read (tools/torch_state_dict_to_kiln.py uses it for PyTorch checkpoints).
int import(const Args& a) {
  const std::string in = a.positional[0], out = a.positional[1];
  if (in.size() <= 5 || in.compare(in.size() - 5, 5, ".onnx") != 0) throw Error(in + ": not an .onnx file (kiln import reads ONNX)");
  SavedRun run = open_model(in, a);
  run.model.save_weights(out);
  const Preprocessing& p = run.model.preprocessing();
  std::printf("%s: %s of %s: %s, input %s, %lld parameters, dataset format '%s'\n", out.c_str(), "kiln weights", in.c_str(),
              run.model.net().spec().c_str(), run.model.input_shape().str().c_str(), static_cast<long long>(run.model.param_count()),
              p.dataset.empty() ? "(none: give --dataset to evaluate)" : p.dataset.c_str());
  return 0;
}

}  // namespace

Command import_command() {
  return {{"import",
           "write an ONNX model (kiln's own, or torch.onnx.export's) as a kiln weights file",
           "MODEL.onnx OUT.kiln",
           "the ONNX file, then the weights file to write",
           2,
           2,
           {{"dataset", "NAME", "the dataset format it reads (default: mnist for 1x28x28 inputs, cifar10 for 3x32x32)"}},
           "what the importer reads: docs/formats.md (ONNX import)\n"
           "examples:\n  kiln import resnet.onnx resnet.kiln\n  kiln eval resnet.kiln --data ../shared/datasets/cifar10\n"},
          import};
}

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
