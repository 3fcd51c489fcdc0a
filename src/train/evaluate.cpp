#include "train/evaluate.h"

#include <algorithm>
#include <cmath>

#include "backend/ops.h"

namespace kiln {

const Tensor& on_device(const Tensor& host, Tensor& staging, Device device) {
  if (device == host.device()) return host;
  staging.ensure(host.shape(), device);
  staging.copy_from(host);
  return staging;
}

void argmax_rows(const Tensor& logits, std::vector<int32_t>& out) {
  const int64_t N = logits.dim(0), K = logits.shape().per_sample();
  out.resize(static_cast<size_t>(N));
  const Real* host = logits.data();
  static thread_local std::vector<Real> staging;
  if (logits.device() != Device::cpu) {
    staging.resize(static_cast<size_t>(logits.numel()));
    logits.copy_to_host(staging.data());
    host = staging.data();
  }
  for (int64_t n = 0; n < N; ++n) {
    const Real* z = host + n * K;
    int64_t best = 0;
    for (int64_t k = 1; k < K; ++k)
      if (z[k] > z[best]) best = k;
    out[static_cast<size_t>(n)] = static_cast<int32_t>(best);
  }
}

void mirror_images(const Tensor& x, Tensor& out) {
  KILN_CHECK(x.rank() == 4 && x.device() == Device::cpu, "mirror_images takes host images (N, C, H, W)");
  out.ensure(x.shape(), Device::cpu);
  const int64_t W = x.dim(3), rows = x.numel() / W;
  for (int64_t r = 0; r < rows; ++r) std::reverse_copy(x.data() + r * W, x.data() + (r + 1) * W, out.data() + r * W);
}

Evaluation evaluate(Model& model, Loss& loss, const Dataset& data, const Normalization& norm, int64_t batch_size,
                    bool keep_predictions, bool flip) {
  if (flip && model.input_shape().rank() != 3)
    throw Error("test-time flips (train.eval_flip, kiln eval --flip) need image inputs (C, H, W); this model takes " +
                model.input_shape().str());
  Evaluation ev;
  const int64_t K = model.output_shape().numel();
  ev.confusion = ConfusionMatrix(static_cast<int>(K));
  if (keep_predictions) {
    ev.predicted.assign(static_cast<size_t>(data.size()), -1);
    ev.confidence.assign(static_cast<size_t>(data.size()), 0.f);
  }
  Loader loader(data, batch_size, /*shuffle=*/false, /*seed=*/0, norm, Augment{});
  loader.start_epoch(0);
  Batch b;
  Tensor x_device, mirrored, averaged;
  std::vector<int32_t> pred;
  double loss_sum = 0;
  int64_t seen = 0, correct = 0;
  Pass pass{Mode::eval, 0, 0, /*backward=*/false};
  while (loader.next(b)) {
    const Tensor* logits_of_batch = &model.forward(on_device(b.x, x_device, model.device()), pass);
    if (flip) {
      // (f(x) + f(mirror x)) / 2; the first output is copied out before the second forward reuses it.
      averaged.ensure(logits_of_batch->shape(), model.device());
      averaged.copy_from(*logits_of_batch);
      mirror_images(b.x, mirrored);
      ops::axpy(Real(1), model.forward(on_device(mirrored, x_device, model.device()), pass), averaged);
      ops::scale(averaged, Real(0.5));
      logits_of_batch = &averaged;
    }
    const Tensor& out = *logits_of_batch;
    const int64_t n = out.dim(0);
    loss_sum += loss.forward_backward(out, Targets{b.y, nullptr}, nullptr) * static_cast<double>(n);
    const Tensor logits = out.to(Device::cpu);  // a copy only for device models
    argmax_rows(logits, pred);
    for (int64_t i = 0; i < n; ++i) {
      const int32_t y = b.y[static_cast<size_t>(i)], p = pred[static_cast<size_t>(i)];
      correct += (y == p);
      ev.confusion.add(y, p);
      if (keep_predictions) {
        // Softmax probability of the predicted class, from the logits (max-subtracted).
        const Real* z = logits.data() + i * K;
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += std::exp(static_cast<double>(z[k]) - z[p]);
        const auto idx = static_cast<size_t>(b.index[static_cast<size_t>(i)]);
        ev.predicted[idx] = p;
        ev.confidence[idx] = static_cast<float>(1.0 / s);
      }
    }
    seen += n;
  }
  ev.loss = seen ? loss_sum / static_cast<double>(seen) : NAN;
  ev.accuracy = seen ? static_cast<double>(correct) / static_cast<double>(seen) : NAN;
  return ev;
}

}  // namespace kiln
