// Model.fit: the training loop of `kiln train` (train/loop.h) over numpy arrays. The settings
// arrive as experiment keys ("optimizer.lr=0.01") and are read by the experiment parser, so
// they have the CLI's defaults, ranges and messages. The GIL is released while the loop runs;
// it is taken back after every batch to see Ctrl-C (and, at most every 0.1 s, to report
// progress), so a KeyboardInterrupt stops training cleanly at the next batch.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <optional>

#include "backend/runtime.h"
#include "bind.h"
#include "train/loop.h"
#include "train/setup.h"

namespace kiln::py {

namespace {

using Clock = std::chrono::steady_clock;

pyb::dict row_dict(const EpochRow& row, bool has_val) {
  pyb::dict d;
  d["epoch"] = row.epoch;
  d["loss"] = row.train_loss;
  d["accuracy"] = row.train_acc;
  if (has_val) {
    d["val_loss"] = row.val_loss;
    d["val_accuracy"] = row.val_acc;
  }
  d["lr"] = row.lr;
  d["seconds"] = row.seconds;
  return d;
}

// What the Python side is told and asked, under the GIL; exceptions raised there are kept and
// re-raised once the loop has stopped.
struct Bridge {
  pyb::object progress, on_epoch;
  bool interrupted = false;
  std::optional<pyb::error_already_set> error;
  bool failed = false;
  Clock::time_point last{};

  // Runs f under the GIL; a KeyboardInterrupt (or any exception) from it or from a pending
  // signal asks the loop to stop. Returns whether to go on.
  template <class F>
  bool call(F&& f) {
    pyb::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw pyb::error_already_set();
      f();
    } catch (pyb::error_already_set& e) {
      if (e.matches(PyExc_KeyboardInterrupt)) {
        interrupted = true;
      } else {
        error.emplace(std::move(e));
        failed = true;
      }
    }
    return !interrupted && !failed;
  }
};

pyb::dict fit(PyModel& self, const pyb::handle& x, const pyb::handle& y, const pyb::handle& xv, const pyb::handle& yv,
              const std::vector<std::string>& overrides, pyb::object progress, pyb::object on_epoch) {
  Model& model = self.model;
  const Experiment e = parse_experiment("", "fit()", overrides);
  const int64_t K = model.output_shape().numel();
  Data data;
  data.train = dataset_from(x, y, model.input_shape(), K, "x", "y");
  const bool has_val = !xv.is_none();
  if (has_val) data.val = dataset_from(xv, yv, model.input_shape(), K, "validation_data[0]", "validation_data[1]");
  auto loss = make_loss(e.loss.spec());
  auto optimizer = make_optimizer(e.optimizer, model.param_count(), model.running_stats().numel());
  auto schedule = make_schedule(e.schedule);
  check_memory(model, std::max(e.train.batch_size, e.train.eval_batch_size));
  init_model_from_data(model, data, e.seed);  // a whiten layer's filters, on the first fit
  set_threads(e.train.threads);
  const Device device = require_device(e.train.device);
  model.to(device);
  optimizer->to(device);

  Bridge bridge;
  bridge.progress = std::move(progress);
  bridge.on_epoch = std::move(on_epoch);
  TrainState st;
  pyb::list history;
  std::string stopped;
  {
    InKiln in_kiln;
    TrainLoop loop(e, data, model, *loss, *optimizer, *schedule, st);
    LoopEvents ev;
    bool go_on = true;
    ev.batch = [&](const TrainState& s, int64_t bpe, double secs) {
      const auto now = Clock::now();
      const bool report = !bridge.progress.is_none() && (s.batch == bpe || now - bridge.last > std::chrono::milliseconds(100));
      go_on = bridge.call([&] {
        if (!report) return;
        bridge.last = now;
        bridge.progress(s.epoch + 1, e.train.epochs, s.batch, bpe, s.train_loss(), s.train_acc(), s.seen / secs);
      });
    };
    ev.stop = [&] { return !go_on; };
    while (st.epoch < e.train.epochs) {
      const TrainLoop::Outcome out = loop.run_epoch(ev);
      if (out == TrainLoop::Outcome::diverged) {
        stopped = loop.divergence();
        break;
      }
      if (out == TrainLoop::Outcome::stopped) {
        if (bridge.interrupted)
          stopped = "interrupted at epoch " + std::to_string(st.epoch + 1) + ", batch " + std::to_string(st.batch);
        break;
      }
      const EpochRow row = loop.end_epoch();
      bool stop_now = false;
      go_on = bridge.call([&] {
        pyb::dict d = row_dict(row, has_val);
        history.append(d);
        if (!bridge.on_epoch.is_none()) stop_now = pyb::bool_(bridge.on_epoch(d));
      });
      if (!go_on) {
        if (bridge.interrupted) stopped = "interrupted after epoch " + std::to_string(row.epoch);
        break;
      }
      if (stop_now) {
        stopped = "stopped by a callback after epoch " + std::to_string(row.epoch);
        break;
      }
    }
  }
  if (bridge.failed) throw *bridge.error;
  pyb::dict r;
  r["history"] = history;
  r["stopped"] = stopped;
  r["interrupted"] = bridge.interrupted;
  r["steps"] = st.step;
  return r;
}

}  // namespace

void bind_fit(pyb::module_& m) {
  m.def("fit", &fit, pyb::arg("model"), pyb::arg("x"), pyb::arg("y"), pyb::arg("x_val"), pyb::arg("y_val"),
        pyb::arg("overrides"), pyb::arg("progress"), pyb::arg("on_epoch"));
}

}  // namespace kiln::py
