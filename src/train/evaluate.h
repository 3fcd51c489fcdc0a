#pragma once
// Runs a model in eval mode over a whole dataset, on the model's device.
#include <cmath>
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
  // A regression (Dataset::regression()): accuracy is NaN and the confusion empty; instead
  // MAE = Σ|ŷ - t| / n and RMSE = sqrt(Σ(ŷ - t)² / n) in the target's units (ŷ = y·sd + mean,
  // t the column's value), and the predicted values ŷ per sample when asked for.
  double mae = NAN, rmse = NAN;
  std::vector<float> values;
};

// The RMSE in the target's units behind a mean MSE loss of ½(y - t)² on the standardised
// target: sd · sqrt(2 · loss) (the training RMSE is taken so, from the running loss).
inline double rmse_of_loss(double loss, double target_sd) { return target_sd * std::sqrt(2 * loss); }

// With a communicator of several ranks the evaluation is sharded: rank r of N evaluates the
// whole batches [B·r/N, B·(r+1)/N) of the B, and the ranks sum what they found; every rank
// returns the same Evaluation, with the same bits as one process's (evaluate.cpp).
// A regression's dataset is evaluated with the MSE on its standardised targets (norm's target
// mean and std), and its MAE and RMSE; flip is then refused (tables are not images).
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
