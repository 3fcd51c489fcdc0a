// `kiln train`: a run folder around the training loop (loop.h). Everything is built and
// checked before the folder exists (so a failed start leaves nothing behind); then one epoch
// at a time with a progress bar and a line per epoch; after each epoch the files (metrics,
// curves, checkpoint, the best weights, the report); the early stops; and the end.
#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>
#include <tuple>

#include "backend/runtime.h"
#include "dist/comm.h"
#include "train/checkpoint.h"
#include "train/loop.h"
#include "train/progress.h"
#include "train/run_folder.h"
#include "train/run_report.h"
#include "train/setup.h"
#include "train/stop.h"

namespace fs = std::filesystem;

namespace kiln {

namespace {

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * v);
  return b;
}

// The backend's mixed precision (train.precision = "bf16") for the run's lifetime: a process
// that trains again (tests, the Python module, sweeps) starts from the setting it had.
struct Bf16Scope {
  Device device;
  bool before;
  Bf16Scope(Device d, bool on) : device(d), before(set_bf16(d, on)) {}
  Bf16Scope(const Bf16Scope&) = delete;
  Bf16Scope& operator=(const Bf16Scope&) = delete;
  ~Bf16Scope() {
    try {
      set_bf16(device, before);
    } catch (const Error&) {  // restoring a setting that was accepted before cannot fail
    }
  }
};

// Everything a run holds, built from its experiment (which validates all of it: the data
// folder and files, the layers, the optimizer, the device). In a data-parallel run every rank
// holds one; only rank 0's writes (the writer): the run folder is one, whatever the ranks.
struct Run {
  const Experiment& e;
  Comm& comm;
  bool writer;
  std::string dir, ckpt;
  std::vector<std::string> hosts;  // "host (T threads)" of each rank
  Data data;
  Model model;
  std::unique_ptr<Loss> loss;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<Schedule> schedule;
  TrainState st;
  std::unique_ptr<Bf16Scope> bf16;

  // progress: the decoding bar of an image folder (off with --no-progress, and on ranks > 0).
  Run(const Experiment& exp, Comm& c, bool progress)
      : e(exp), comm(c), writer(c.rank() == 0), data(load_data(e.data, e.seed, progress)), model(build_model_for(e, data.train.sample_shape())),
        loss(make_loss(e.loss.spec())), optimizer(make_optimizer(e.optimizer, model.param_count(), model.running_stats().numel())),
        schedule(make_schedule(e.schedule)) {
    model.set_preprocessing(preprocessing_of(data, e.data));
    if (data.train.regression() && model.output_shape().numel() != 1)
      throw Error(e.source + ": data.task = \"regression\" predicts one number (column '" + e.data.target +
                  "'), but the model's last layer gives " + model.output_shape().str() + " outputs: end [model] layers with \"dense 1\"");
    check_sync_bn_shards(e, data.train, c.size());
    init_model_from_data(model, data, e.seed);  // a resumed run then loads its checkpoint over it
    check_memory(model, std::max(e.train.batch_size, e.train.eval_batch_size));
    const Device device = require_device(e.train.device);
    backend(device).set_tf32(e.train.precision == "tf32");
    bf16 = std::make_unique<Bf16Scope>(device, e.train.precision == "bf16");
    model.to(device);
    optimizer->to(device);
  }
  void set_dir(const std::string& folder) {
    dir = folder;
    ckpt = folder + "/checkpoint.kiln";
  }
  void save() const {
    if (writer) save_checkpoint(ckpt, model, *optimizer, st);
  }
  void write_curves() const {
    if (!writer) return;
    write_epoch_csv(dir + "/metrics.csv", st.epochs, data.train.regression());
    write_batch_csv(dir + "/batches.csv", st.batches);
    write_grad_norm_csv(dir + "/gradnorms.csv", st.grad_norm_layers, st.grad_norms);
    write_histogram_csv(dir + "/histograms.csv", st.histograms);
  }
};

void print_header(const Run& r) {
  std::printf("%s: %lld training and %lld test images of %s, %lld parameters\n", r.e.name.c_str(),
              static_cast<long long>(r.data.train.size()), static_cast<long long>(r.data.test.size()),
              r.data.train.sample_shape().str().c_str(), static_cast<long long>(r.model.param_count()));
  std::fflush(stdout);
}

// A regression's line: its loss (on the standardised target) and RMSE / MAE in the target's units.
void print_regression_epoch(const Run& r, const EpochRow& row) {
  std::string val;
  if (r.data.val.size() > 0) {
    char b[128];
    std::snprintf(b, sizeof b, "  val loss %.4f rmse %.4g mae %.4g", row.val_loss, row.val_rmse, row.val_mae);
    val = b;
  }
  std::printf("epoch %3lld/%lld  train loss %.4f rmse %.4g%s  test loss %.4f rmse %.4g mae %.4g  lr %.3g  %.1fs (%s rows/s)\n",
              static_cast<long long>(row.epoch), static_cast<long long>(r.e.train.epochs), row.train_loss, row.train_rmse,
              val.c_str(), row.test_loss, row.test_rmse, row.test_mae, row.lr, row.seconds,
              format_rate(static_cast<double>(r.data.train.size()) / row.seconds).c_str());
  std::fflush(stdout);
}

void print_epoch(const Run& r, const EpochRow& row) {
  if (r.data.train.regression()) return print_regression_epoch(r, row);
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

// For the tests of a killed or hung rank: KILN_TEST_KILL_RANK_AT_STEP="R:S" kills rank R
// (SIGKILL, as the kernel's out-of-memory killer would) when S steps are done; "R:S:stop"
// stops it instead (SIGSTOP: alive but silent, which only the collectives' deadline catches).
int kill_hook(int rank, int64_t step) {
  static const std::tuple<int, int64_t, int> at = [] {
    const char* v = std::getenv("KILN_TEST_KILL_RANK_AT_STEP");
    int r = -1;
    long long s = -1;
    char how[8] = {};
    const int got = v ? std::sscanf(v, "%d:%lld:%7s", &r, &s, how) : 0;
    if (got < 2) r = -1;
    return std::tuple<int, int64_t, int>{r, s, std::string(how) == "stop" ? SIGSTOP : SIGKILL};
  }();
  return std::get<0>(at) == rank && std::get<1>(at) == step ? std::get<2>(at) : 0;
}

// The loop's events for `kiln train`: the progress bar, and the stops (a signal, or the test
// hook's step count).
LoopEvents events_for(Progress& bar, const TrainState& st, const TrainOptions& opt, int rank, bool regression) {
  LoopEvents ev;
  ev.batch = [&bar, regression](const TrainState& s, int64_t, double secs) {
    char extra[160];
    if (regression)
      std::snprintf(extra, sizeof extra, "loss %.4f  %s rows/s", s.train_loss(), format_rate(s.seen / secs).c_str());
    else
      std::snprintf(extra, sizeof extra, "loss %.4f  acc %s  %s img/s", s.train_loss(), pct(s.train_acc()).c_str(),
                    format_rate(s.seen / secs).c_str());
    bar.update(s.batch, extra);
  };
  const int64_t stop_at = opt.stop_after_steps;
  ev.stop = [&st, stop_at, rank] {
    if (const int sig = kill_hook(rank, st.step)) std::raise(sig);
    return stop_requested() || (stop_at > 0 && st.step == stop_at);
  };
  return ev;
}

bool finite_row(const EpochRow& row, bool has_val) {
  return std::isfinite(row.train_loss) && std::isfinite(row.test_loss) && (!has_val || std::isfinite(row.val_loss));
}

// Whether this epoch's validation score is the best so far (then best.kiln is written), and
// the count of epochs without improvement that early stopping watches. The score is the
// accuracy, or for a regression minus the RMSE (lower is better), the first epoch's always best.
bool update_best(TrainState& st, const EpochRow& row, bool regression) {
  const double score = regression ? -row.val_rmse : row.val_acc;
  if (score > st.best_val_acc || (regression && st.epochs.size() == 1 && std::isfinite(score))) {
    st.best_val_acc = score;
    st.epochs_since_best = 0;
    return true;
  }
  ++st.epochs_since_best;
  return false;
}

void append_manifest(const std::string& dir, const KeyValues& entries) {
  KeyValues manifest = read_key_values(dir + "/manifest.toml");
  manifest.insert(manifest.end(), entries.begin(), entries.end());
  write_key_values(dir + "/manifest.toml", manifest);
}

// What a session of the run computes with beyond the machine: the device and the command
// (a resumed session also its thread count, which results depend on).
KeyValues session_entries(const Run& r, const TrainOptions& opt, const std::string& prefix) {
  KeyValues kv;
  if (!prefix.empty()) kv.emplace_back(prefix + "threads", std::to_string(thread_count()));
  for (auto& [k, v] : compute_description(r.model.device()))
    if (k == "device") kv.emplace_back(prefix + "device", v);
  if (r.model.device() == Device::cpu) kv.emplace_back(prefix + "device", "cpu");
  if (!opt.command.empty()) kv.emplace_back(prefix + "command", opt.command);
  kv.emplace_back(prefix + "ranks", std::to_string(r.comm.size()));
  std::string hosts;
  for (size_t i = 0; i < r.hosts.size(); ++i) hosts += (i ? ", " : "") + std::to_string(i) + ": " + r.hosts[i];
  kv.emplace_back(prefix + "hosts", hosts);
  if (r.comm.size() > 1)
    kv.emplace_back(prefix + "batch_per_rank", std::to_string(r.e.train.batch_size / r.comm.size()) + " of " +
                                                   std::to_string(r.e.train.batch_size) + " (global)");
  return kv;
}

// What each rank does beyond rank 0: no progress bar, epoch lines or report (rank 0's are
// the run's).
TrainOptions options_for(const TrainOptions& opt, const Comm& comm) {
  TrainOptions o = opt;
  if (comm.rank() != 0) o.progress = o.epoch_lines = o.write_report = false;
  return o;
}

// Threads per rank: as asked, else all cores for one process and the cores shared among the
// ranks of a machine for several (one thread each for two ranks on two cores).
int threads_for(const TrainOptions& opt, const Experiment& e, const Comm& comm) {
  if (opt.threads > 0) return opt.threads;
  if (e.train.threads > 0 || comm.size() == 1) return static_cast<int>(e.train.threads);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, comm.local_size()));
}

void gather_hosts(Run& r) {
  r.hosts = r.comm.gather(Comm::host_name() + " (" + std::to_string(thread_count()) + " threads)");
}

RunResult run(Run& r, const TrainOptions& opt, bool resuming) {
  const Experiment& e = r.e;
  const std::string& dir = r.dir;
  if (!resuming) {
    r.save();  // so that there is always a good one to go back to
    if (opt.epoch_lines) print_header(r);
  }
  std::fflush(stdout);
  TrainLoop loop(e, r.data, r.model, *r.loss, *r.optimizer, *r.schedule, r.st, &r.comm);
  RunResult res;
  res.run_dir = dir;
  auto stop_here = [&](RunResult::Status status, const std::string& msg) {
    res.status = status;
    res.message = msg;
    r.write_curves();
    return res;
  };
  const std::string keep_note = ": stopped. The last good checkpoint (" + r.ckpt +
                                ") is kept; lower the learning rate and resume with 'kiln train --resume " + dir +
                                " --allow-change --set optimizer.lr=...'";
  const bool has_val = r.data.val.size() > 0;
  const bool regression = r.data.train.regression();
  while (r.st.epoch < e.train.epochs) {
    char label[64];
    std::snprintf(label, sizeof label, "epoch %lld/%lld", static_cast<long long>(r.st.epoch + 1),
                  static_cast<long long>(e.train.epochs));
    Progress bar(label, loop.batches_per_epoch(), opt.progress);
    const TrainLoop::Outcome out = loop.run_epoch(events_for(bar, r.st, opt, r.comm.rank(), regression));
    bar.finish();
    if (out == TrainLoop::Outcome::diverged) return stop_here(RunResult::Status::diverged, loop.divergence() + keep_note);
    if (out == TrainLoop::Outcome::stopped) {
      if (loop.weights_finite()) r.save();
      return stop_here(RunResult::Status::interrupted,
                       "interrupted at epoch " + std::to_string(r.st.epoch + 1) + ", batch " + std::to_string(r.st.batch) +
                           ": checkpoint saved; continue with 'kiln train --resume " + dir + "'");
    }
    const EpochRow row = loop.end_epoch();
    if (opt.epoch_lines) print_epoch(r, row);
    if (opt.epoch_lines && r.model.device() != Device::cpu)
      std::printf("  %s\n", describe_graph_stats(loop.step().graph_stats()).c_str());
    res.test_loss = row.test_loss;
    res.test_accuracy = row.test_acc;
    res.test_mae = row.test_mae;
    res.test_rmse = row.test_rmse;
    // A step can leave non-finite weights behind a finite loss: such an epoch is no good one.
    if (!finite_row(row, has_val) || !loop.weights_finite())
      return stop_here(RunResult::Status::diverged,
                       "the weights or metrics became non-finite in epoch " + std::to_string(row.epoch) +
                           " (test loss " + std::to_string(row.test_loss) + ")" + keep_note);
    const bool best = has_val && update_best(r.st, row, regression);
    r.write_curves();
    r.save();
    if (best && r.writer) loop.with_averaged_weights([&] { r.model.save_weights(dir + "/best.kiln"); });
    if (opt.write_report) write_run_report(dir, r.model, r.data.test, loop.last_test());
    if (e.train.early_stopping > 0 && r.st.epochs_since_best >= e.train.early_stopping) {
      char best_text[64];
      std::snprintf(best_text, sizeof best_text, "%.4g", -r.st.best_val_acc);
      res.message = "stopped early after epoch " + std::to_string(row.epoch) + ": no better validation " +
                    (regression ? "RMSE" : "accuracy") + " in " + std::to_string(e.train.early_stopping) + " epochs (best " +
                    (regression ? std::string(best_text) : pct(r.st.best_val_acc)) + ", in best.kiln)";
      if (opt.epoch_lines) std::printf("%s\n", res.message.c_str());
      break;
    }
  }
  if (r.writer) {
    loop.with_averaged_weights([&] { r.model.save_weights(dir + "/weights.kiln"); });
    if (r.model.device() == Device::cpu) append_manifest(dir, {{"finished", now_iso8601()}});
    else append_manifest(dir, {{"finished", now_iso8601()}, {"graphs", describe_graph_stats(loop.step().graph_stats())}});
  }
  if (opt.write_report) std::printf("report: %s/report.html\n", dir.c_str());
  res.status = RunResult::Status::completed;
  return res;
}

// The keys whose value differs between two experiments: "train.epochs: 3 -> 5".
std::vector<std::string> changes_between(const Experiment& before, const Experiment& after, bool* only_more_epochs) {
  const auto a = experiment_keys(before), b = experiment_keys(after);
  std::vector<std::string> out;
  *only_more_epochs = true;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].value == b[i].value) continue;
    out.push_back(a[i].key + ": " + a[i].value + " -> " + b[i].value);
    if (a[i].key != "train.epochs" || after.train.epochs < before.train.epochs) *only_more_epochs = false;
  }
  return out;
}

}  // namespace

RunResult train(const Experiment& e, const TrainOptions& options) {
  Comm& comm = options.comm ? *options.comm : world();
  const TrainOptions opt = options_for(options, comm);
  std::optional<Run> run_;
  comm.together([&] {
    set_threads(threads_for(opt, e, comm));
    run_.emplace(e, comm, opt.progress);  // everything checked before the folder exists
    if (opt.init) run_->model.copy_weights_from(*opt.init, opt.init_source);
  });
  Run& r = *run_;
  gather_hosts(r);
  std::string dir = opt.run_dir;
  comm.together([&] {
    if (!r.writer) return;
    if (dir.empty()) {
      dir = make_run_dir(opt.runs_dir, e.name);
    } else {
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec) throw Error("cannot create run folder " + dir + ": " + ec.message());
    }
    write_file_atomic(dir + "/config.toml", e.resolved);
    KeyValues manifest = machine_manifest();
    manifest.insert(manifest.begin(), {{"experiment", e.source}, {"seed", std::to_string(e.seed)}, {"started", now_iso8601()}});
    for (auto& kv : session_entries(r, opt, "")) manifest.push_back(kv);
    manifest.emplace_back("dataset", e.data.dataset + " in " + e.data.dir);
    manifest.emplace_back("parameters", std::to_string(r.model.param_count()));
    if (opt.init) manifest.emplace_back("init", opt.init_source);
    if (!r.data.note.empty()) {
      manifest.emplace_back("data_note", r.data.note);
      std::fprintf(stderr, "kiln: note: %s\n", r.data.note.c_str());
    }
    write_key_values(dir + "/manifest.toml", manifest);
    std::printf("run folder: %s\n", dir.c_str());
  });
  r.set_dir(comm.broadcast(dir, 0));
  return run(r, opt, false);
}

RunResult resume(const std::string& dir, const TrainOptions& options, const std::vector<std::string>& overrides) {
  Comm& comm = options.comm ? *options.comm : world();
  const TrainOptions opt = options_for(options, comm);
  std::optional<Experiment> exp;
  std::vector<std::string> changes;
  std::optional<Run> run_;
  // Every rank reads the run's config and checkpoint (the run folder is on a file system they
  // share: one machine, or NFS across machines); the state is the global run's, so the rank
  // count may differ from the sessions before.
  comm.together([&] {
    if (!fs::exists(dir + "/checkpoint.kiln")) throw Error(dir + ": no checkpoint.kiln here (is this a run folder?)");
    const Experiment ran = load_experiment(dir + "/config.toml");
    exp.emplace(load_experiment(dir + "/config.toml", overrides));
    const Experiment& e = *exp;
    bool only_more_epochs = true;
    changes = changes_between(ran, e, &only_more_epochs);
    if (!changes.empty() && !only_more_epochs && !opt.allow_change) {
      std::string list;
      for (const auto& c : changes) list += "\n  " + c;
      throw Error(dir + ": resuming with other settings than the run's own:" + list +
                  "\nOnly train.epochs may grow on a plain resume (a changed run is no longer the experiment in "
                  "config.toml); add --allow-change to continue with the change recorded, or start a new run");
    }
    set_threads(threads_for(opt, e, comm));
    run_.emplace(e, comm, opt.progress);
    run_->set_dir(dir);
    load_checkpoint(run_->ckpt, run_->model, *run_->optimizer, run_->st);
    if (run_->st.epoch > e.train.epochs)
      throw Error(dir + ": the run has done " + std::to_string(run_->st.epoch) + " epochs; train.epochs = " +
                  std::to_string(e.train.epochs) + " would undo them");
  });
  Run& r = *run_;
  gather_hosts(r);
  comm.together([&] {
    if (!r.writer) return;
    std::printf("resuming %s at epoch %lld, batch %lld (step %lld)\n", dir.c_str(), static_cast<long long>(r.st.epoch + 1),
                static_cast<long long>(r.st.batch), static_cast<long long>(r.st.step));
    // The record of this session, and config.toml only now that what it says will run.
    std::string what = now_iso8601();
    for (const auto& c : changes) what += "; changed " + c;
    KeyValues entries{{"resumed", what}};
    for (auto& kv : session_entries(r, opt, "resumed_")) entries.push_back(kv);
    append_manifest(dir, entries);
    if (!changes.empty()) write_file_atomic(dir + "/config.toml", r.e.resolved);
  });
  return run(r, opt, true);
}

}  // namespace kiln
