#include "train/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

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

void translate_images(const Tensor& x, int64_t dy, int64_t dx, Tensor& out) {
  KILN_CHECK(x.rank() == 4 && x.device() == Device::cpu, "translate_images takes host images (N, C, H, W)");
  const int64_t H = x.dim(2), W = x.dim(3), planes = x.dim(0) * x.dim(1);
  KILN_CHECK(std::abs(dy) < H && std::abs(dx) < W, "translate_images: a move of at most H-1 rows and W-1 columns");
  out.ensure(x.shape(), Device::cpu);
  // Moved by (dy, dx): output (r, c) reads source (r - dy, c - dx), reflected at the edges.
  std::vector<int64_t> rows(static_cast<size_t>(H)), columns(static_cast<size_t>(W));
  source_indices(H, -dy, /*reflect=*/true, rows.data());
  source_indices(W, -dx, /*reflect=*/true, columns.data());
  for (int64_t p = 0; p < planes; ++p) {
    const Real* in = x.data() + p * H * W;
    Real* o = out.data() + p * H * W;
    for (int64_t r = 0; r < H; ++r) {
      const Real* row = in + rows[static_cast<size_t>(r)] * W;
      for (int64_t c = 0; c < W; ++c) o[r * W + c] = row[columns[static_cast<size_t>(c)]];
    }
  }
}

namespace {

// A regression's evaluation, sharded as evaluate() below: one sum of doubles carries
//   [loss·n per batch (B) | Σ|ŷ - t| per batch (B) | Σ(ŷ - t)² per batch (B) | ŷ per sample]
// (the last part only when predictions are kept), each batch's sums taken in sample order on
// the rank that owns it, the totals in batch order on every rank: one process's bits.
Evaluation evaluate_regression(Model& model, Loss& loss, const Dataset& data, const Normalization& norm,
                               int64_t batch_size, bool keep_predictions, Comm* comm) {
  if (model.output_shape().numel() != 1)
    throw Error("evaluation: a regression predicts one number per sample, but the model gives " +
                model.output_shape().str() + " outputs (end it with \"dense 1\")");
  Evaluation ev;
  const int64_t n = data.size();
  Loader loader(data, batch_size, /*shuffle=*/false, /*seed=*/0, norm, Augment{});
  const double mean = norm.target_mean[0], sd = norm.target_std[0];
  const int64_t B = loader.batches_per_epoch();
  const int ranks = comm ? comm->size() : 1, rank = comm ? comm->rank() : 0;
  const int64_t first = B * rank / ranks, end = B * (rank + 1) / ranks;
  const auto at_abs = static_cast<size_t>(B), at_sq = at_abs + static_cast<size_t>(B), at_values = at_sq + static_cast<size_t>(B);
  std::vector<double> found(keep_predictions ? at_values + static_cast<size_t>(n) : at_values, 0.0);
  loader.start_epoch(0);
  loader.skip(first);
  Batch b;
  Tensor x_device, t_device;
  std::vector<Real> y;
  Pass pass{Mode::eval, 0, 0, /*backward=*/false};
  for (int64_t batch = first; batch < end && loader.next(b); ++batch) {
    const Tensor& out = model.forward(on_device(b.x, x_device, model.device()), pass);
    const int64_t rows = out.dim(0);
    const auto k = static_cast<size_t>(batch);
    found[k] = loss.forward_backward(out, Targets{{}, &on_device(b.t, t_device, model.device())}, nullptr) *
               static_cast<double>(rows);
    y.resize(static_cast<size_t>(rows));
    out.copy_to_host(y.data());
    for (int64_t i = 0; i < rows; ++i) {
      const auto idx = static_cast<size_t>(b.index[static_cast<size_t>(i)]);
      const double predicted = y[static_cast<size_t>(i)] * sd + mean, err = predicted - data.targets[idx];
      found[at_abs + k] += std::abs(err);
      found[at_sq + k] += err * err;
      if (keep_predictions) found[at_values + idx] = predicted;
    }
  }
  if (ranks > 1) comm->sum(found.data(), static_cast<int64_t>(found.size()));
  double loss_sum = 0, abs_sum = 0, sq_sum = 0;
  for (size_t k = 0; k < static_cast<size_t>(B); ++k) {
    loss_sum += found[k];
    abs_sum += found[at_abs + k];
    sq_sum += found[at_sq + k];
  }
  if (keep_predictions) ev.values.assign(found.begin() + static_cast<std::ptrdiff_t>(at_values), found.end());
  const double N = static_cast<double>(n);
  ev.loss = n ? loss_sum / N : NAN;
  ev.accuracy = NAN;
  ev.mae = n ? abs_sum / N : NAN;
  ev.rmse = n ? std::sqrt(sq_sum / N) : NAN;
  return ev;
}

}  // namespace

// Sharding keeps one process's numbers exactly: each batch is the one a single process would
// evaluate (same samples, same size, so the same kernels give the same bits), the counts are
// integers, and the loss is Σ_b (mean loss of batch b)·n_b taken in batch order on every rank
// after the ranks have filled in each other's batches (the sum over ranks of a slot adds zeros
// to the one rank's value, which is exact). One sum of doubles carries it all:
//   [loss·n per batch (B) | confusion (K²) | predicted + 1 per sample | confidence per sample]
// the per-sample parts only when predictions are kept.
Evaluation evaluate(Model& model, Loss& loss, const Dataset& data, const Normalization& norm, int64_t batch_size,
                    bool keep_predictions, Comm* comm, TestTimeViews views) {
  const Shape& input = model.input_shape();
  if ((views.flip || views.translate > 0) && input.rank() != 3)
    throw Error("test-time flips and translations (train.eval_flip, train.eval_translate, kiln eval --flip, "
                "--translate) need image inputs (C, H, W); this model takes " + input.str());
  if (views.translate < 0) throw Error("test-time translation by " + std::to_string(views.translate) + " pixels (0 or more)");
  if (views.translate > 0 && (views.translate >= input[1] || views.translate >= input[2]))
    throw Error("test-time translation by " + std::to_string(views.translate) + " pixels: images " + input.str() +
                " allow 0 to " + std::to_string(std::min(input[1], input[2]) - 1));
  if (data.regression()) return evaluate_regression(model, loss, data, norm, batch_size, keep_predictions, comm);
  Evaluation ev;
  const int64_t K = model.output_shape().numel(), n = data.size();
  Loader loader(data, batch_size, /*shuffle=*/false, /*seed=*/0, norm, Augment{});
  const int64_t B = loader.batches_per_epoch();
  const int ranks = comm ? comm->size() : 1, rank = comm ? comm->rank() : 0;
  const int64_t first = B * rank / ranks, end = B * (rank + 1) / ranks;
  const size_t at_confusion = static_cast<size_t>(B), at_predicted = at_confusion + static_cast<size_t>(K * K),
               at_confidence = at_predicted + static_cast<size_t>(n);
  std::vector<double> found(keep_predictions ? at_confidence + static_cast<size_t>(n) : at_predicted, 0.0);
  loader.start_epoch(0);
  loader.skip(first);
  Batch b;
  Tensor x_device, moved, mirrored, averaged;
  std::vector<int32_t> pred;
  Pass pass{Mode::eval, 0, 0, /*backward=*/false};
  // Σ over the flips of the view's logits, added into `averaged` (the first one copied in:
  // each forward reuses the model's output buffer).
  bool first_view = true;
  auto add_view = [&](const Tensor& view) {
    for (int side = 0; side < (views.flip ? 2 : 1); ++side) {
      if (side == 1) mirror_images(view, mirrored);
      const Tensor& z = model.forward(on_device(side == 1 ? mirrored : view, x_device, model.device()), pass);
      if (first_view) {
        averaged.ensure(z.shape(), model.device());
        averaged.copy_from(z);
        first_view = false;
      } else {
        ops::axpy(Real(1), z, averaged);
      }
    }
  };
  for (int64_t batch = first; batch < end && loader.next(b); ++batch) {
    const Tensor* logits_of_batch = nullptr;
    if (!views.flip && views.translate == 0) {
      logits_of_batch = &model.forward(on_device(b.x, x_device, model.device()), pass);
    } else {
      // Unnormalised: S(x) (flips summed), then 2 S(x) + S(x moved by t) + S(x moved by -t).
      first_view = true;
      add_view(b.x);
      Real divisor = views.flip ? 2 : 1;
      if (views.translate > 0) {
        ops::scale(averaged, Real(2));
        for (const int64_t t : {views.translate, -views.translate}) {
          translate_images(b.x, t, t, moved);
          add_view(moved);
        }
        divisor *= 4;
      }
      ops::scale(averaged, Real(1) / divisor);
      logits_of_batch = &averaged;
    }
    const Tensor& out = *logits_of_batch;
    const int64_t rows = out.dim(0);
    found[static_cast<size_t>(batch)] = loss.forward_backward(out, Targets{b.y, nullptr}, nullptr) * static_cast<double>(rows);
    const Tensor logits = out.to(Device::cpu);  // a copy only for device models
    argmax_rows(logits, pred);
    for (int64_t i = 0; i < rows; ++i) {
      const int32_t y = b.y[static_cast<size_t>(i)], p = pred[static_cast<size_t>(i)];
      if (y < 0 || y >= K)
        throw Error("evaluation: label " + std::to_string(y) + " of sample " +
                    std::to_string(b.index[static_cast<size_t>(i)]) + ", but the model has " + std::to_string(K) +
                    " outputs (classes)");
      found[at_confusion + static_cast<size_t>(y * K + p)] += 1;
      if (keep_predictions) {
        // Softmax probability of the predicted class, from the logits (max-subtracted).
        const Real* z = logits.data() + i * K;
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += std::exp(static_cast<double>(z[k]) - z[p]);
        const auto idx = static_cast<size_t>(b.index[static_cast<size_t>(i)]);
        found[at_predicted + idx] = p + 1;
        found[at_confidence + idx] = static_cast<float>(1.0 / s);
      }
    }
  }
  if (ranks > 1) comm->sum(found.data(), static_cast<int64_t>(found.size()));
  double loss_sum = 0;
  for (int64_t batch = 0; batch < B; ++batch) loss_sum += found[static_cast<size_t>(batch)];
  ev.confusion = ConfusionMatrix(static_cast<int>(K));
  int64_t correct = 0;
  for (int64_t y = 0; y < K; ++y)
    for (int64_t p = 0; p < K; ++p) {
      const auto count = static_cast<int64_t>(found[at_confusion + static_cast<size_t>(y * K + p)]);
      if (count > 0) ev.confusion.add(static_cast<int>(y), static_cast<int>(p), count);
      if (y == p) correct += count;
    }
  if (keep_predictions) {
    ev.predicted.resize(static_cast<size_t>(n));
    ev.confidence.resize(static_cast<size_t>(n));
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      ev.predicted[i] = static_cast<int32_t>(found[at_predicted + i]) - 1;
      ev.confidence[i] = static_cast<float>(found[at_confidence + i]);
    }
  }
  ev.loss = n ? loss_sum / static_cast<double>(n) : NAN;
  ev.accuracy = n ? static_cast<double>(correct) / static_cast<double>(n) : NAN;
  return ev;
}

}  // namespace kiln
