#include "train/loop.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "tensor/hash.h"

#include "backend/ops.h"
#include "backend/runtime.h"
#include "train/evaluate.h"

namespace kiln {

using Clock = std::chrono::steady_clock;

// Every rank enters each batch norm's sums, so no shard may be empty: every batch, the short
// last one included, needs a sample per rank.
void check_sync_bn_shards(const Experiment& e, const Dataset& train, int ranks) {
  if (!e.train.sync_bn || ranks <= 1) return;
  const int64_t n = train.size(), last = n % e.train.batch_size;
  const int64_t smallest = last > 0 ? last : std::min(e.train.batch_size, n);
  if (smallest < ranks)
    throw Error("train.sync_bn on " + std::to_string(ranks) + " ranks needs at least one sample per rank in every "
                "batch, but a batch of this run has " + std::to_string(smallest) + " (" + std::to_string(n) +
                " training samples, train.batch_size = " + std::to_string(e.train.batch_size) +
                "): choose a batch size whose last batch is empty or has at least as many samples as ranks");
}

TrainLoop::TrainLoop(const Experiment& e, const Data& data, Model& model, Loss& loss, Optimizer& optimizer,
                     const Schedule& schedule, TrainState& state, Comm* comm)
    : comm_(comm && comm->size() > 1 ? comm : nullptr),
      e_(e), data_(data), model_(model), loss_(loss), optimizer_(optimizer), schedule_(schedule), st_(state),
      loader_(data.train, e.train.batch_size, /*shuffle=*/true, e.seed, data.norm, data.augment,
              comm_ ? Shard{comm_->rank(), comm_->size()} : Shard{}),
      step_(model, loss, optimizer, e.seed) {
  step_.set_clip_grad_norm(e.train.clip_grad_norm);
  step_.set_comm(comm_);
  if (comm_ && e.train.sync_bn) {
    check_sync_bn_shards(e, data.train, comm_->size());
    step_.set_sync_bn(true);
  }
  previous_exact_ = set_exact_weight_gradients(optimizer.scale_free());
  // The layers with parameters, named by their path and spec, in model order.
  std::map<std::string, std::string> spec_of;
  for (const auto& row : model.summary()) spec_of[row.path] = row.spec;
  for (const auto& p : model.named_params()) {
    const std::string path = p.name.substr(0, p.name.rfind('.'));
    if (layers_.empty() || layers_.back().name.rfind(path + " ", 0) != 0)
      layers_.push_back({path + " " + spec_of[path], {}, {}});
    layers_.back().grads.push_back(p.grad);
    if (p.decay) layers_.back().weights.push_back(p.value);
  }
  if (st_.grad_norm_layers.empty())
    for (const auto& l : layers_) st_.grad_norm_layers.push_back(l.name);
}

TrainLoop::~TrainLoop() { set_exact_weight_gradients(previous_exact_); }

// ‖dL/dθ‖ of each layer at this step (the gradients of the step just taken, before the next
// zeroes them).
void TrainLoop::record_grad_norms() {
  GradNormRow row{st_.batches.back().step, st_.batches.back().epoch, {}};
  for (const auto& l : layers_) {
    double s = 0;
    for (const Tensor& g : l.grads) s += ops::sum_squares(g);
    row.norms.push_back(std::sqrt(s));
  }
  st_.grad_norms.push_back(std::move(row));
}

// 30 equal bins between each layer's smallest and largest weight.
void TrainLoop::record_histograms() {
  constexpr int kBins = 30;
  for (const auto& l : layers_) {
    if (l.weights.empty()) continue;
    std::vector<Real> w;
    for (const Tensor& t : l.weights) {
      const Tensor h = t.to(Device::cpu);
      w.insert(w.end(), h.data(), h.data() + h.numel());
    }
    const auto [mn, mx] = std::minmax_element(w.begin(), w.end());
    WeightHistogram hist{st_.epoch + 1, l.name, static_cast<double>(*mn), static_cast<double>(*mx),
                         std::vector<int64_t>(kBins, 0)};
    const double width = (hist.hi - hist.lo) / kBins;
    for (Real v : w) {
      const int b = width > 0 ? std::clamp(static_cast<int>((v - hist.lo) / width), 0, kBins - 1) : 0;
      ++hist.counts[static_cast<size_t>(b)];
    }
    st_.histograms.push_back(std::move(hist));
  }
}

TrainLoop::Outcome TrainLoop::run_epoch(const LoopEvents& events) {
  loader_.start_epoch(st_.epoch);
  if (st_.batch > 0) loader_.skip(st_.batch);
  const int64_t bpe = loader_.batches_per_epoch();
  const auto t0 = Clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  while (loader_.next(batch_)) {
    lr_ = schedule_.lr(st_.step, bpe);
    const TrainStep::Result r = step_.run(batch_, st_.step, lr_);
    if (!std::isfinite(r.loss)) {
      char msg[160];
      std::snprintf(msg, sizeof msg, "the training loss became %s at epoch %lld, batch %lld (step %lld)",
                    std::isnan(r.loss) ? "NaN" : "infinite", static_cast<long long>(st_.epoch + 1),
                    static_cast<long long>(st_.batch + 1), static_cast<long long>(st_.step));
      divergence_ = msg;
      return Outcome::diverged;
    }
    const int64_t global = std::max(batch_.global, batch_.size());
    // A regression has no accuracy: NaN through the sums keeps train_acc and the batch curve's NaN.
    const double correct = data_.train.regression() ? std::nan("") : static_cast<double>(r.correct);
    if (st_.add_batch(r.loss, correct, static_cast<double>(global), lr_, bpe,
                      e_.train.log_every))
      record_grad_norms();
    if (events.batch) events.batch(st_, bpe, seconds() + st_.epoch_seconds);
    if (any_rank_stops(events.stop && events.stop())) {
      st_.epoch_seconds += seconds();
      return Outcome::stopped;
    }
  }
  epoch_train_seconds_ = seconds() + st_.epoch_seconds;
  average_running_stats();
  check_replicas();
  return Outcome::epoch_done;
}

// A stop asked on one rank (a signal, the test hook) is every rank's, at the same batch: one
// flag summed over the ranks after each step.
bool TrainLoop::any_rank_stops(bool here) {
  if (!comm_) return here;
  double flag = here ? 1 : 0;
  comm_->sum(&flag, 1);
  return flag > 0;
}

// Without train.sync_bn each rank's batch norm gathers running statistics from its own shards:
// the replicas' weights are equal but their statistics are not, so rank 0's weights.kiln was
// one of several models and the sharded evaluation mixed them (its test loss was no saved
// model's). After each epoch the statistics, and their weight-EMA averages, become their mean
// over the ranks on every rank. For equal shards the mean of the running means is the global
// batch's; the variance misses the spread of the shards' means (PyTorch's DDP broadcasts rank
// 0's buffers instead, which keeps one shard's view only). With sync_bn they are equal already.
void TrainLoop::average_running_stats() {
  if (!comm_ || e_.train.sync_bn) return;
  for (Tensor* stats : {&model_.running_stats(), optimizer_.averaged_stats()}) {
    if (!stats || stats->numel() == 0) continue;
    Tensor host(stats->shape(), Device::cpu);
    host.copy_from(*stats);
    comm_->sum(host.data(), host.numel());
    const Real share = Real(1) / static_cast<Real>(comm_->size());
    for (int64_t i = 0; i < host.numel(); ++i) host.data()[i] *= share;
    stats->copy_from(host);
  }
}

// The replicas take the same update from the same summed gradient, so their weights must stay
// bitwise equal; a difference (a collective that did not give every rank the same bits, a
// rank that skipped a step) would make rank 0's checkpoint one of several models.
void TrainLoop::check_replicas() {
  if (!comm_) return;
  const Tensor w = model_.params().to(Device::cpu);
  uint64_t h = 0x6b696c6eULL;
  const auto* bytes = reinterpret_cast<const unsigned char*>(w.data());
  const size_t len = static_cast<size_t>(w.numel()) * sizeof(Real);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, bytes + i, std::min<size_t>(8, len - i));
    h = splitmix64(h ^ word);
  }
  const std::vector<std::string> all = comm_->gather(std::to_string(h));
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      throw AllRanksError("after epoch " + std::to_string(st_.epoch + 1) + " the weights of rank " + std::to_string(r) +
                          " differ from rank 0's (the replicas went apart: internal error, please report it)");
}

// The averaged weights go in with the running statistics averaged alongside them (the
// optimizer's ŝ, optim/optimizer.h): evaluated with the trained model's statistics instead,
// they lost most of their accuracy (issue #13). Both trained buffers come back afterwards, so
// the checkpoint and the next step see the trajectory untouched.
void TrainLoop::with_averaged_weights(const std::function<void()>& f) {
  Tensor& params = model_.params();
  Tensor& stats = model_.running_stats();
  if (!optimizer_.has_ema() || optimizer_.steps() == 0) {
    f();
    return;
  }
  trained_.ensure(params.shape(), params.device());
  trained_.copy_from(params);
  trained_stats_.ensure(stats.shape(), stats.device());
  trained_stats_.copy_from(stats);
  optimizer_.averaged_into(params, &stats);
  auto restore = [&] {
    params.copy_from(trained_);
    stats.copy_from(trained_stats_);
  };
  try {
    f();
  } catch (...) {
    restore();
    throw;
  }
  restore();
}

const EpochRow& TrainLoop::end_epoch() {
  // No test set (the Python module's fit() without one): its loss and accuracy are NaN.
  const double nan = std::nan("");
  EpochRow row{st_.epoch + 1, st_.train_loss(), st_.train_acc(), nan, nan, lr_, epoch_train_seconds_};
  if (data_.train.regression()) row.train_rmse = rmse_of_loss(row.train_loss, data_.norm.target_std[0]);
  const TestTimeViews views{e_.train.eval_flip, e_.train.eval_translate};
  with_averaged_weights([&] {
    test_ = data_.test.size() > 0
                ? evaluate(model_, loss_, data_.test, data_.norm, e_.train.eval_batch_size, /*keep_predictions=*/true,
                           comm_, views)
                : Evaluation{nan, nan, {}, {}, {}, nan, nan, {}};
    row.test_loss = test_.loss;
    row.test_acc = test_.accuracy;
    row.test_mae = test_.mae;
    row.test_rmse = test_.rmse;
    if (data_.val.size() > 0) {
      Evaluation vev = evaluate(model_, loss_, data_.val, data_.norm, e_.train.eval_batch_size, false, comm_, views);
      row.val_loss = vev.loss;
      row.val_acc = vev.accuracy;
      row.val_mae = vev.mae;
      row.val_rmse = vev.rmse;
    }
    if (std::isfinite(row.test_loss) || data_.test.size() == 0) record_histograms();
  });
  st_.epochs.push_back(row);
  st_.next_epoch();
  return st_.epochs.back();
}

bool TrainLoop::weights_finite() const {
  auto finite = [](const Tensor& t) {
    const Tensor h = t.to(Device::cpu);  // itself on the CPU
    for (int64_t i = 0; i < h.numel(); ++i)
      if (!std::isfinite(h[i])) return false;
    return true;
  };
  if (!finite(model_.params())) return false;
  for (const auto& b : model_.named_buffers())
    if (!finite(b.value)) return false;
  return true;
}

}  // namespace kiln
