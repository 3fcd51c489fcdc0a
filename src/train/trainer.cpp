// `kiln train`: a run folder around the training loop (loop.h). Setting up (or resuming),
// one epoch at a time with a progress bar and a line per epoch, the files after each epoch
// (metrics, curves, checkpoint), the two early stops, and the end (weights, report).
#include "train/trainer.h"

#include <cstdio>
#include <filesystem>

#include "train/checkpoint.h"
#include "train/loop.h"
#include "train/progress.h"
#include "train/run_folder.h"
#include "train/run_report.h"
#include "train/setup.h"
#include "train/stop.h"

namespace kiln {

namespace {

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * v);
  return b;
}

// Everything a run holds, built from its experiment.
struct Run {
  const Experiment& e;
  std::string dir, ckpt;
  Data data;
  Model model;
  std::unique_ptr<Loss> loss;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<Schedule> schedule;
  TrainState st;

  Run(const Experiment& exp, const std::string& folder)
      : e(exp), dir(folder), ckpt(folder + "/checkpoint.kiln"), data(load_data(e.data, e.seed)),
        model(build_model_for(e, data.train.sample_shape())), loss(make_loss(e.loss.spec())),
        optimizer(make_optimizer(e.optimizer, model.param_count())), schedule(make_schedule(e.schedule)) {
    const Device device = require_device(e.train.device);
    model.to(device);
    optimizer->to(device);
  }
  void save() const { save_checkpoint(ckpt, model, *optimizer, st); }
  void write_curves() const {
    write_epoch_csv(dir + "/metrics.csv", st.epochs);
    write_batch_csv(dir + "/batches.csv", st.batches);
  }
};

void print_header(const Run& r) {
  std::printf("%s: %lld training and %lld test images of %s, %lld parameters\n", r.e.name.c_str(),
              static_cast<long long>(r.data.train.size()), static_cast<long long>(r.data.test.size()),
              r.data.train.sample_shape().str().c_str(), static_cast<long long>(r.model.param_count()));
  std::fflush(stdout);
}

void print_epoch(const Run& r, const EpochRow& row) {
  std::string val;
  if (r.data.val.size() > 0) {
    char b[96];
    std::snprintf(b, sizeof b, "  val loss %.4f acc %s", row.val_loss, pct(row.val_acc).c_str());
    val = b;
  }
  std::printf("epoch %3lld/%lld  train loss %.4f acc %s%s  test loss %.4f acc %s  lr %.3g  %.1fs (%s img/s)\n",
              static_cast<long long>(row.epoch), static_cast<long long>(r.e.train.epochs), row.train_loss,
              pct(row.train_acc).c_str(), val.c_str(), row.test_loss, pct(row.test_acc).c_str(), row.lr, row.seconds,
              format_rate(static_cast<double>(r.data.train.size()) / row.seconds).c_str());
  std::fflush(stdout);
}

// The loop's events for `kiln train`: the progress bar, and the stops (a signal, or the test
// hook's step count).
LoopEvents events_for(Progress& bar, const TrainState& st, const TrainOptions& opt) {
  LoopEvents ev;
  ev.batch = [&bar](const TrainState& s, int64_t, double secs) {
    char extra[160];
    std::snprintf(extra, sizeof extra, "loss %.4f  acc %s  %s img/s", s.train_loss(), pct(s.train_acc()).c_str(),
                  format_rate(s.seen / secs).c_str());
    bar.update(s.batch, extra);
  };
  const int64_t stop_at = opt.stop_after_steps;
  ev.stop = [&st, stop_at] { return stop_requested() || (stop_at > 0 && st.step == stop_at); };
  return ev;
}

RunResult run(const Experiment& e, const std::string& dir, const TrainOptions& opt, bool resuming) {
  set_threads(opt.threads > 0 ? opt.threads : e.train.threads);
  Run r(e, dir);
  if (resuming) {
    load_checkpoint(r.ckpt, r.model, *r.optimizer, r.st);
    std::printf("resuming %s at epoch %lld, batch %lld (step %lld)\n", dir.c_str(), static_cast<long long>(r.st.epoch + 1),
                static_cast<long long>(r.st.batch), static_cast<long long>(r.st.step));
  } else {
    r.save();  // so that there is always a good one to go back to
    if (opt.epoch_lines) print_header(r);
    KeyValues manifest = read_key_values(dir + "/manifest.toml");
    manifest.emplace_back("parameters", std::to_string(r.model.param_count()));
    write_key_values(dir + "/manifest.toml", manifest);
  }
  std::fflush(stdout);

  TrainLoop loop(e, r.data, r.model, *r.loss, *r.optimizer, *r.schedule, r.st);
  RunResult res;
  res.run_dir = dir;
  auto stop_here = [&](RunResult::Status status, const std::string& msg) {
    res.status = status;
    res.message = msg;
    r.write_curves();
    return res;
  };
  while (r.st.epoch < e.train.epochs) {
    char label[64];
    std::snprintf(label, sizeof label, "epoch %lld/%lld", static_cast<long long>(r.st.epoch + 1),
                  static_cast<long long>(e.train.epochs));
    Progress bar(label, loop.batches_per_epoch(), opt.progress);
    const TrainLoop::Outcome out = loop.run_epoch(events_for(bar, r.st, opt));
    bar.finish();
    if (out == TrainLoop::Outcome::diverged)
      return stop_here(RunResult::Status::diverged,
                       loop.divergence() + ": stopped. The last good checkpoint (" + r.ckpt +
                           ") is kept; lower the learning rate and resume with 'kiln train --resume " + dir +
                           " --set optimizer.lr=...'");
    if (out == TrainLoop::Outcome::stopped) {
      r.save();
      return stop_here(RunResult::Status::interrupted,
                       "interrupted at epoch " + std::to_string(r.st.epoch + 1) + ", batch " + std::to_string(r.st.batch) +
                           ": checkpoint saved; continue with 'kiln train --resume " + dir + "'");
    }
    const EpochRow& row = loop.end_epoch();
    if (opt.epoch_lines) print_epoch(r, row);
    res.test_loss = row.test_loss;
    res.test_accuracy = row.test_acc;
    r.write_curves();
    r.save();
  }
  if (!r.st.epochs.empty()) {
    res.test_loss = r.st.epochs.back().test_loss;
    res.test_accuracy = r.st.epochs.back().test_acc;
  }
  r.model.save_weights(dir + "/weights.kiln");
  KeyValues manifest = read_key_values(dir + "/manifest.toml");
  manifest.emplace_back("finished", now_iso8601());
  write_key_values(dir + "/manifest.toml", manifest);
  if (opt.write_report) std::printf("report: %s\n", write_run_report(dir, r.model, r.data).c_str());
  res.status = RunResult::Status::completed;
  return res;
}

}  // namespace

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
