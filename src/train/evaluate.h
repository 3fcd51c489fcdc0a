#pragma once
// Runs a model in eval mode over a whole dataset, on the model's device.
#include <vector>

#include "data/dataset.h"
#include "data/loader.h"
#include "dist/comm.h"
#include "loss/loss.h"
#include "model/model.h"
#include "report/metrics.h"

namespace kiln {

struct Evaluation {
  double loss = 0, accuracy = 0;
  ConfusionMatrix confusion;
  std::vector<int32_t> predicted;  // per sample, in dataset order (when asked for)
  std::vector<float> confidence;   // softmax probability of the predicted class
};

// With a communicator of several ranks the evaluation is sharded: rank r of N evaluates the
// whole batches [B·r/N, B·(r+1)/N) of the B, and the ranks sum what they found; every rank
// returns the same Evaluation, with the same bits as one process's (evaluate.cpp).
// flip: test-time flip augmentation, the logits of each image and of its mirror image
// (columns reversed) averaged before the loss, the prediction and the confidence; for image
// inputs (C, H, W) only (kiln::Error otherwise).
Evaluation evaluate(Model& model, Loss& loss, const Dataset& data, const Normalization& norm, int64_t batch_size,
                    bool keep_predictions, Comm* comm = nullptr, bool flip = false);

// x (N, C, H, W) with every row reversed: the horizontal mirror of each image, into `out`.
void mirror_images(const Tensor& x, Tensor& out);

// `host` itself on the CPU; else its copy in `staging` (reused) on `device`.
const Tensor& on_device(const Tensor& host, Tensor& staging, Device device);

// Index of the largest value in each row of logits (N, K), on any device.
void argmax_rows(const Tensor& logits, std::vector<int32_t>& out);

}  // namespace kiln
