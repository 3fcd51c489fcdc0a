#include "train/trainer.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "model/build.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "tensor/binio.h"
#include "train/progress.h"
#include "train/run_folder.h"
#include "train/run_report.h"
#include "train/setup.h"
#include "train/step.h"

namespace kiln {

namespace {

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int sig) {
  g_stop_signal.store(sig);
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * v);
  return b;
}

std::string fixed4(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

RunResult run(const Experiment& e, const std::string& dir, const TrainOptions& opt, bool resuming) {
  set_threads(opt.threads > 0 ? opt.threads : e.train.threads);
  Data data = load_data(e.data, e.seed);
  const Device device = require_device(e.train.device);
  Model model = build_model_for(e, data.train.sample_shape());
  auto loss = make_loss(e.loss.spec());
  auto optimizer = make_optimizer(e.optimizer, model.param_count());
  auto schedule = make_schedule(e.schedule);
  const std::string ckpt = dir + "/checkpoint.kiln";

  TrainState st;
  model.to(device);
  optimizer->to(device);
  if (resuming) {
    load_checkpoint(ckpt, model, *optimizer, st);
    std::printf("resuming %s at epoch %lld, batch %lld (step %lld)\n", dir.c_str(), static_cast<long long>(st.epoch + 1),
                static_cast<long long>(st.batch), static_cast<long long>(st.step));
  } else {
    save_checkpoint(ckpt, model, *optimizer, st);  // so that there is always a good one to go back to
  }
  if (opt.epoch_lines && !resuming) {
    std::printf("%s: %lld training and %lld test images of %s, %lld parameters\n", e.name.c_str(),
                static_cast<long long>(data.train.size()), static_cast<long long>(data.test.size()),
                data.train.sample_shape().str().c_str(), static_cast<long long>(model.param_count()));
  }
  std::fflush(stdout);
  if (!resuming) {
    KeyValues manifest = read_key_values(dir + "/manifest.toml");
    manifest.emplace_back("parameters", std::to_string(model.param_count()));
    write_key_values(dir + "/manifest.toml", manifest);
  }

  Loader loader(data.train, e.train.batch_size, /*shuffle=*/true, e.seed, data.norm, data.augment);
  const int64_t bpe = loader.batches_per_epoch();
  Batch batch;
  TrainStep train_step(model, *loss, *optimizer, e.seed);
  RunResult res;
  res.run_dir = dir;

  auto stop_here = [&](RunResult::Status status, const std::string& msg) {
    res.status = status;
    res.message = msg;
    write_epoch_csv(dir + "/metrics.csv", st.epochs);
    write_batch_csv(dir + "/batches.csv", st.batches);
    return res;
  };

  while (st.epoch < e.train.epochs) {
    loader.start_epoch(st.epoch);
    if (st.batch > 0) loader.skip(st.batch);
    char label[64];
    std::snprintf(label, sizeof label, "epoch %lld/%lld", static_cast<long long>(st.epoch + 1),
                  static_cast<long long>(e.train.epochs));
    Progress bar(label, bpe, opt.progress);
    const auto t0 = Clock::now();
    double lr = 0;
    while (loader.next(batch)) {
      lr = schedule->lr(st.step, bpe);
      const TrainStep::Result r = train_step.run(batch, st.step, lr);
      const double l = r.loss;
      if (!std::isfinite(l)) {
        bar.finish();
        char msg[512];
        std::snprintf(msg, sizeof msg,
                      "the training loss became %s at epoch %lld, batch %lld (step %lld): stopped. The last good "
                      "checkpoint (%s) is kept; lower the learning rate and resume with "
                      "'kiln train --resume %s --set optimizer.lr=...'",
                      std::isnan(l) ? "NaN" : "infinite", static_cast<long long>(st.epoch + 1),
                      static_cast<long long>(st.batch + 1), static_cast<long long>(st.step), ckpt.c_str(), dir.c_str());
        return stop_here(RunResult::Status::diverged, msg);
      }
      const auto n = static_cast<double>(batch.y.size());
      const auto correct = static_cast<double>(r.correct);
      st.loss_sum += l * n;
      st.correct += correct;
      st.seen += n;
      st.window_loss += l * n;
      st.window_correct += correct;
      st.window_seen += n;
      ++st.window_batches;
      ++st.step;
      ++st.batch;
      if (st.window_batches >= e.train.log_every) {
        st.batches.push_back({st.step, static_cast<double>(st.epoch) + static_cast<double>(st.batch) / static_cast<double>(bpe),
                              st.window_loss / st.window_seen, st.window_correct / st.window_seen, lr});
        st.window_loss = st.window_correct = st.window_seen = 0;
        st.window_batches = 0;
      }
      const double secs = seconds_since(t0);
      char extra[160];
      std::snprintf(extra, sizeof extra, "loss %.4f  acc %s  %s img/s", st.loss_sum / st.seen,
                    pct(st.correct / st.seen).c_str(), format_rate(st.seen / (secs + st.epoch_seconds)).c_str());
      bar.update(st.batch, extra);

      const bool test_stop = opt.stop_after_steps > 0 && st.step == opt.stop_after_steps;
      if (g_stop_signal.load() != 0 || test_stop) {
        bar.finish();
        st.epoch_seconds += secs;
        save_checkpoint(ckpt, model, *optimizer, st);
        return stop_here(RunResult::Status::interrupted,
                         "interrupted at epoch " + std::to_string(st.epoch + 1) + ", batch " + std::to_string(st.batch) +
                             ": checkpoint saved; continue with 'kiln train --resume " + dir + "'");
      }
    }
    bar.finish();
    const double train_secs = seconds_since(t0) + st.epoch_seconds;
    Evaluation ev = evaluate(model, *loss, data.test, data.norm, e.train.eval_batch_size, false);
    EpochRow row{st.epoch + 1, st.loss_sum / st.seen, st.correct / st.seen, ev.loss, ev.accuracy, lr, train_secs};
    std::string val_text;
    if (data.val.size() > 0) {
      Evaluation vev = evaluate(model, *loss, data.val, data.norm, e.train.eval_batch_size, false);
      row.val_loss = vev.loss;
      row.val_acc = vev.accuracy;
      val_text = "  val loss " + fixed4(vev.loss) + " acc " + pct(vev.accuracy);
    }
    st.epochs.push_back(row);
    if (opt.epoch_lines) {
      std::printf("epoch %3lld/%lld  train loss %.4f acc %s%s  test loss %.4f acc %s  lr %.3g  %.1fs (%s img/s)\n",
                  static_cast<long long>(st.epoch + 1), static_cast<long long>(e.train.epochs), st.loss_sum / st.seen,
                  pct(st.correct / st.seen).c_str(), val_text.c_str(), ev.loss, pct(ev.accuracy).c_str(), lr,
                  train_secs, format_rate(st.seen / train_secs).c_str());
      std::fflush(stdout);
    }
    res.test_loss = ev.loss;
    res.test_accuracy = ev.accuracy;
    ++st.epoch;
    st.batch = 0;
    st.loss_sum = st.correct = st.seen = 0;
    st.epoch_seconds = 0;
    write_epoch_csv(dir + "/metrics.csv", st.epochs);
    write_batch_csv(dir + "/batches.csv", st.batches);
    save_checkpoint(ckpt, model, *optimizer, st);
  }
  if (!st.epochs.empty()) {
    res.test_loss = st.epochs.back().test_loss;
    res.test_accuracy = st.epochs.back().test_acc;
  }
  model.save_weights(dir + "/weights.kiln");
  KeyValues manifest = read_key_values(dir + "/manifest.toml");
  manifest.emplace_back("finished", now_iso8601());
  write_key_values(dir + "/manifest.toml", manifest);
  if (opt.write_report) {
    std::string html = write_run_report(dir, model, data);
    std::printf("report: %s\n", html.c_str());
  }
  res.status = RunResult::Status::completed;
  return res;
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

RunResult train(const Experiment& e, const TrainOptions& opt) {
  std::string dir = opt.run_dir;
  if (dir.empty()) {
    dir = make_run_dir(opt.runs_dir, e.name);
  } else {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("cannot create run folder " + dir + ": " + ec.message());
  }
  write_file_atomic(dir + "/config.toml", e.resolved);
  KeyValues manifest = machine_manifest();
  manifest.insert(manifest.begin(), {{"experiment", e.source}, {"seed", std::to_string(e.seed)}, {"started", now_iso8601()}});
  write_key_values(dir + "/manifest.toml", manifest);
  std::printf("run folder: %s\n", dir.c_str());
  return run(e, dir, opt, false);
}

RunResult resume(const std::string& dir, const TrainOptions& opt, const std::vector<std::string>& overrides) {
  if (!std::filesystem::exists(dir + "/checkpoint.kiln"))
    throw Error(dir + ": no checkpoint.kiln here (is this a run folder?)");
  Experiment e = load_experiment(dir + "/config.toml", overrides);
  if (!overrides.empty()) write_file_atomic(dir + "/config.toml", e.resolved);
  KeyValues manifest = read_key_values(dir + "/manifest.toml");
  std::string changes;
  for (const auto& o : overrides) changes += (changes.empty() ? "" : " ") + o;
  manifest.emplace_back("resumed", now_iso8601() + (changes.empty() ? "" : " with " + changes));
  write_key_values(dir + "/manifest.toml", manifest);
  return run(e, dir, opt, true);
}

}  // namespace kiln
