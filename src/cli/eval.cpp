#include <cstdio>
#include <optional>

#include "cli/commands.h"
#include "report/metrics.h"
#include "train/saved_run.h"

namespace kiln::cli {

namespace {

int run(const Args& a) {
  set_threads(a.integer("threads", 0));
  SavedRun saved = open_model(a.positional[0], a);
  const std::optional<int64_t> translate =
      a.has("translate") ? std::optional<int64_t>(a.integer("translate", 0)) : std::nullopt;
  const SavedEvaluation r = evaluate_saved(saved, a.one("data"), a.integer("batch", 0), false, a.flag("flip"), translate);
  if (r.test.regression()) {
    // A regression: the loss (MSE on the standardised target, as training reports it) and the
    // errors in the target's units.
    std::printf("%s on %lld test rows (%s)\n", saved.file.c_str(), static_cast<long long>(r.test.size()),
                r.test.source.c_str());
    std::printf("test loss %.6f   test RMSE %.6g   test MAE %.6g   (target '%s')\n", r.ev.loss, r.ev.rmse, r.ev.mae,
                r.test.target.c_str());
    return 0;
  }
  std::printf("%s on %lld test images (%s)\n", saved.file.c_str(), static_cast<long long>(r.test.size()),
              r.test.source.c_str());
  std::printf("test loss %.4f   test accuracy %.2f%%\n\n", r.ev.loss, 100 * r.ev.accuracy);
  std::printf("confusion matrix (rows: true class, columns: predicted)\n%s\n",
              confusion_table(r.ev.confusion, r.test.class_names).c_str());
  std::printf("%s", classification_table(r.ev.confusion, r.test.class_names).c_str());
  return 0;
}

}  // namespace

Command eval_command() {
  return {{"eval",
           "test loss and accuracy, confusion matrix, per-class precision/recall/F1 of a trained model (a "
           "regression's: test loss, RMSE and MAE)",
           "RUN|FILE|MODEL.onnx",
           "a run folder, a weights.kiln / checkpoint.kiln (which record their preprocessing), or an ONNX file",
           1,
           1,
           {{"data", "DIR", "evaluate on the test files in DIR instead of the run's data.dir"},
            {"dataset", "NAME", "an ONNX file's dataset format (default: mnist for 1x28x28 inputs, cifar10 for 3x32x32)"},
            {"flip", "", "test-time flips: average the logits of each image and its mirror (on by default for a run "
                         "trained with train.eval_flip)"},
            {"translate", "T", "test-time translations: 1/2 the image's logits + 1/4 of it moved by (T, T) + 1/4 by "
                               "(-T, -T), edges reflected (default: the run's train.eval_translate; 0: none)", false, true, 0, 64},
            {"batch", "N", "samples per batch (default: the run's eval_batch_size)", false, true, 1, 1 << 20},
            threads_option(),
            device_option(),
            set_option()},
           "examples:\n  kiln eval runs/mnist-cnn-20261123-101500\n  kiln eval model.kiln --data ../shared/datasets/mnist\n"},
          run};
}

}  // namespace kiln::cli
