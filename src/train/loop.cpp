#include "train/loop.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "train/evaluate.h"

namespace kiln {

using Clock = std::chrono::steady_clock;

TrainLoop::TrainLoop(const Experiment& e, const Data& data, Model& model, Loss& loss, Optimizer& optimizer,
                     const Schedule& schedule, TrainState& state)
    : e_(e), data_(data), model_(model), loss_(loss), optimizer_(optimizer), schedule_(schedule), st_(state),
      loader_(data.train, e.train.batch_size, /*shuffle=*/true, e.seed, data.norm, data.augment),
      step_(model, loss, optimizer, e.seed) {}

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
    st_.add_batch(r.loss, static_cast<double>(r.correct), static_cast<double>(batch_.y.size()), lr_, bpe,
                  e_.train.log_every);
    if (events.batch) events.batch(st_, bpe, seconds() + st_.epoch_seconds);
    if (events.stop && events.stop()) {
      st_.epoch_seconds += seconds();
      return Outcome::stopped;
    }
  }
  epoch_train_seconds_ = seconds() + st_.epoch_seconds;
  return Outcome::epoch_done;
}

const EpochRow& TrainLoop::end_epoch() {
  Evaluation ev = evaluate(model_, loss_, data_.test, data_.norm, e_.train.eval_batch_size, false);
  EpochRow row{st_.epoch + 1, st_.train_loss(), st_.train_acc(), ev.loss, ev.accuracy, lr_, epoch_train_seconds_};
  if (data_.val.size() > 0) {
    Evaluation vev = evaluate(model_, loss_, data_.val, data_.norm, e_.train.eval_batch_size, false);
    row.val_loss = vev.loss;
    row.val_acc = vev.accuracy;
  }
  st_.epochs.push_back(row);
  st_.next_epoch();
  return st_.epochs.back();
}

}  // namespace kiln
