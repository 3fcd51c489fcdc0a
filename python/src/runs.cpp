// Experiments from Python: kiln.train() runs the CLI's trainer (train/trainer.h) on an
// experiment file, kiln.Run evaluates a run's saved model as `kiln eval` does
// (train/saved_run.h).
#include <csignal>

#include "bind.h"
#include "train/saved_run.h"
#include "train/trainer.h"

namespace kiln::py {

namespace {

// SIGINT and SIGTERM go to the trainer's stop handlers while it runs (Ctrl-C saves a
// checkpoint and stops, as in `kiln train`), and back to Python's afterwards.
struct StopHandlers {
  struct sigaction old_int {}, old_term {};
  StopHandlers() {
    sigaction(SIGINT, nullptr, &old_int);
    sigaction(SIGTERM, nullptr, &old_term);
    clear_stop();
    install_stop_handlers();
  }
  ~StopHandlers() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    clear_stop();
  }
};

pyb::dict train_file(const std::string& path, const std::vector<std::string>& overrides, const std::string& runs_dir,
                     bool progress) {
  const Experiment e = load_experiment(path, overrides);
  TrainOptions opt;
  opt.runs_dir = runs_dir;
  opt.progress = progress;
  opt.command = "kiln.train(" + path + ")";
  RunResult r;
  {
    InKiln in_kiln;
    StopHandlers handlers;
    r = train(e, opt);
  }
  const char* status[] = {"completed", "interrupted", "diverged"};
  pyb::dict d;
  d["run_dir"] = r.run_dir;
  d["status"] = status[static_cast<int>(r.status)];
  d["message"] = r.message;
  d["test_loss"] = r.test_loss;
  d["test_accuracy"] = r.test_accuracy;
  d["test_rmse"] = r.test_rmse;  // NaN for a classification
  d["test_mae"] = r.test_mae;
  return d;
}

pyb::dict evaluate_run(const std::string& target, const std::string& data_dir) {
  SavedRun run = open_saved_run(target);
  SavedEvaluation r;
  {
    InKiln in_kiln;
    r = evaluate_saved(run, data_dir, 0);
  }
  const int K = r.ev.confusion.classes();
  pyb::array_t<int64_t> cm(std::vector<pyb::ssize_t>{K, K});
  for (int t = 0; t < K; ++t)
    for (int p = 0; p < K; ++p) cm.mutable_at(t, p) = r.ev.confusion.at(t, p);
  pyb::dict d;
  d["loss"] = r.ev.loss;
  d["accuracy"] = r.ev.accuracy;
  d["confusion"] = cm;
  d["class_names"] = r.test.class_names;
  d["file"] = run.file;
  if (r.test.regression()) {  // no classes: the errors in the target's units instead
    d["rmse"] = r.ev.rmse;
    d["mae"] = r.ev.mae;
    d["target"] = r.test.target;
  }
  return d;
}

}  // namespace

void bind_runs(pyb::module_& m) {
  m.def("train", &train_file, pyb::arg("path"), pyb::arg("overrides"), pyb::arg("runs_dir"), pyb::arg("progress"));
  m.def("evaluate_run", &evaluate_run, pyb::arg("target"), pyb::arg("data_dir"));
}

}  // namespace kiln::py
