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

// Test-time augmentation: the logits that the loss, the prediction and the confidence see are
// the mean of the model's logits over views of each image x:
//   flip          f̄(x) = ½ f(x) + ½ f(mirror x)   (columns reversed); else f̄ = f
//   translate t   ½ f̄(x) + ¼ f̄(x moved by (t, t)) + ¼ f̄(x moved by (-t, -t)), the rows and
//                 columns moved in past the border reflected back in (airbench94's TTA at
//                 t = 1 with flips: 6 forward passes an image)
// Every weight is a power of two, so the means are exact sums scaled once: flips alone give
// the same bits as (f(x) + f(mirror x)) / 2.
struct TestTimeViews {
  bool flip = false;
  int64_t translate = 0;  // pixels; 0: off
};

// With a communicator of several ranks the evaluation is sharded: rank r of N evaluates the
// whole batches [B·r/N, B·(r+1)/N) of the B, and the ranks sum what they found; every rank
// returns the same Evaluation, with the same bits as one process's (evaluate.cpp).
// A regression's dataset is evaluated with the MSE on its standardised targets (norm's target
// mean and std), and its MAE and RMSE; flip is then refused (tables are not images).
// views: test-time augmentation (TestTimeViews below), for image inputs (C, H, W) only
// (kiln::Error otherwise).
Evaluation evaluate(Model& model, Loss& loss, const Dataset& data, const Normalization& norm, int64_t batch_size,
                    bool keep_predictions, Comm* comm = nullptr, TestTimeViews views = {});

// x (N, C, H, W) with every row reversed: the horizontal mirror of each image, into `out`.
void mirror_images(const Tensor& x, Tensor& out);

// x (N, C, H, W) moved by dy rows and dx columns, into `out`: out[y, x] = x[ρ(y - dy), ρ(x - dx)]
// with ρ reflecting an index that falls off an edge back in without repeating it (ρ(-1) = 1,
// ρ(H) = H - 2; PyTorch's "reflect" padding); |dy| < H and |dx| < W.
void translate_images(const Tensor& x, int64_t dy, int64_t dx, Tensor& out);

// `host` itself on the CPU; else its copy in `staging` (reused) on `device`.
const Tensor& on_device(const Tensor& host, Tensor& staging, Device device);

// Index of the largest value in each row of logits (N, K), on any device.
void argmax_rows(const Tensor& logits, std::vector<int32_t>& out);

}  // namespace kiln
