#include "cli/commands.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "config/default_experiment.h"
#include "config/experiment.h"
#include "gradcheck/gradcheck.h"
#include "model/build.h"
#include "report/metrics.h"
#include "tensor/check.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/run_report.h"
#include "train/setup.h"
#include "train/sweep.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace kiln::cli {

namespace {

// Flags: "--name value" (repeatable ones collect), "--flag", and positional arguments.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> values;
  std::map<std::string, bool> flags;

  Args(const std::vector<std::string>& args, const std::vector<std::string>& with_value,
       const std::vector<std::string>& bare) {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a.rfind("--", 0) != 0 || a == "--") {
        positional.push_back(a);
        continue;
      }
      std::string name = a.substr(2), value;
      bool inline_value = false;
      if (auto eq = name.find('='); eq != std::string::npos && name.rfind("set", 0) != 0 && name.rfind("vary", 0) != 0) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_value = true;
      }
      if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
        if (!inline_value) {
          if (i + 1 >= args.size()) throw UsageError("--" + name + " needs a value");
          value = args[++i];
        }
        values[name].push_back(value);
      } else if (std::find(bare.begin(), bare.end(), name) != bare.end()) {
        flags[name] = true;
      } else {
        throw UsageError("unknown option --" + name);
      }
    }
  }
  std::vector<std::string> all(const std::string& k) const {
    auto it = values.find(k);
    return it == values.end() ? std::vector<std::string>{} : it->second;
  }
  std::string one(const std::string& k, const std::string& fallback = "") const {
    auto v = all(k);
    return v.empty() ? fallback : v.back();
  }
  bool flag(const std::string& k) const { return flags.count(k) > 0; }
  int threads() const {
    std::string t = one("threads", "0");
    try {
      int n = std::stoi(t);
      if (n >= 0) return n;
    } catch (const std::exception&) {
    }
    throw UsageError("--threads: expected a number ≥ 0, got '" + t + "'");
  }
};

// --set KEY=VALUE overrides, with --device D as train.device=D.
std::vector<std::string> overrides(const Args& a) {
  std::vector<std::string> o = a.all("set");
  if (!a.one("device").empty()) o.push_back("train.device=\"" + a.one("device") + "\"");
  return o;
}

Experiment experiment_from(const Args& a) {
  if (a.positional.size() > 1) throw UsageError("expected one experiment file, got " + std::to_string(a.positional.size()));
  if (a.positional.empty()) return parse_experiment(kDefaultExperiment, "(built-in default experiment)", overrides(a));
  return load_experiment(a.positional[0], overrides(a));
}

TrainOptions train_options(const Args& a) {
  TrainOptions o;
  o.runs_dir = a.one("runs", "runs");
  o.threads = a.threads();
  o.progress = !a.flag("no-progress");
  return o;
}

int finish(const RunResult& r) {
  switch (r.status) {
    case RunResult::Status::completed:
      std::printf("done: test accuracy %.2f%%, test loss %.4f\nrun folder: %s\n", 100 * r.test_accuracy, r.test_loss,
                  r.run_dir.c_str());
      return 0;
    case RunResult::Status::interrupted:
      std::fprintf(stderr, "%s\n", r.message.c_str());
      return 130;
    case RunResult::Status::diverged:
      std::fprintf(stderr, "kiln train: error: %s\n", r.message.c_str());
      return 1;
  }
  return 1;
}

}  // namespace

int train(const std::vector<std::string>& args) {
  Args a(args, {"set", "runs", "threads", "resume", "device"}, {"no-progress"});
  install_stop_handlers();
  TrainOptions opt = train_options(a);
  if (!a.one("resume").empty()) {
    if (!a.positional.empty()) throw UsageError("--resume takes the run folder; no experiment file with it");
    return finish(resume(a.one("resume"), opt, overrides(a)));
  }
  return finish(kiln::train(experiment_from(a), opt));
}

int eval(const std::vector<std::string>& args) {
  Args a(args, {"data", "threads", "batch", "device", "set"}, {});
  if (a.positional.size() != 1) throw UsageError("expected a run folder or a checkpoint/weights file");
  set_threads(a.threads());
  fs::path target = a.positional[0];
  fs::path dir = fs::is_directory(target) ? target : target.parent_path();
  if (!fs::exists(dir / "config.toml")) throw Error((dir / "config.toml").string() + ": not found (is this a run folder?)");
  std::vector<std::string> extra = overrides(a);
  if (!a.one("data").empty()) extra.push_back("data.dir=\"" + a.one("data") + "\"");
  Experiment e = load_experiment((dir / "config.toml").string(), extra);
  e.data.limit_train = 0;
  Data data = load_data(e.data, e.seed);
  Model model = build_model_for(e, data.train.sample_shape());
  model.to(require_device(e.train.device));
  fs::path file = target;
  if (fs::is_directory(target)) file = fs::exists(dir / "weights.kiln") ? dir / "weights.kiln" : dir / "checkpoint.kiln";
  if (file.extension() == ".kiln" && file.filename().string().find("checkpoint") != std::string::npos) {
    auto opt = make_optimizer(e.optimizer, model.param_count());
    TrainState st;
    load_checkpoint(file.string(), model, *opt, st);
  } else {
    model.load_weights(file.string());
  }
  auto loss = make_loss(e.loss.spec());
  Evaluation ev = evaluate(model, *loss, data.test, data.norm, std::stoll(a.one("batch", "1000")), false);
  std::printf("%s on %lld test images (%s)\n", file.string().c_str(), static_cast<long long>(data.test.size()),
              e.data.dir.c_str());
  std::printf("test loss %.4f   test accuracy %.2f%%\n\n", ev.loss, 100 * ev.accuracy);
  std::printf("confusion matrix (rows: true class, columns: predicted)\n%s\n",
              confusion_table(ev.confusion, data.test.class_names).c_str());
  std::printf("%s", classification_table(ev.confusion, data.test.class_names).c_str());
  return 0;
}

int summary(const std::vector<std::string>& args) {
  Args a(args, {"set"}, {});
  Experiment e = experiment_from(a);
  Model model = build_model_for(e, sample_shape_of(e));
  std::printf("%s (%s)\n\n%s", e.name.c_str(), e.source.c_str(), model.summary_table().c_str());
  return 0;
}

// The check runs in the double-precision build of this command (kiln-f64, beside it), as the
// test suite's do: float32 rounding of the loss rules out steps much below 1e-3, and in a large
// network (batch norm in training, above all) some ReLU or max-pool kink lies within every such
// step for many weights, so float checks of big nets fail where nothing is wrong. Double
// precision resolves steps down to 1e-7, where kinks are rare; those left are set aside
// (gradcheck.h) and counted.
int gradcheck(const std::vector<std::string>& args) {
  if constexpr (sizeof(Real) == sizeof(float)) {
    std::error_code ec;
    const fs::path f64 = fs::read_symlink("/proc/self/exe", ec).parent_path() / "kiln-f64";
    if (!ec && fs::exists(f64)) {
      std::vector<std::string> all{f64.string(), "gradcheck"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& s : all) argv.push_back(s.data());
      argv.push_back(nullptr);
      std::fflush(stdout);
      ::execv(f64.c_str(), argv.data());
      throw Error("cannot run " + f64.string() + ": " + std::strerror(errno));
    }
    std::printf("note: no kiln-f64 beside this binary: checking in float32, where large networks fail at kinks\n");
  }
  Args a(args, {"set", "batch"}, {});
  Experiment e = experiment_from(a);
  Model model = build_model_for(e, sample_shape_of(e));
  auto loss = make_loss(e.loss.spec());
  const int64_t n = std::stoll(a.one("batch", "4"));
  Tensor x{model.input_shape().batched(n)};
  Rng rng(e.seed);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<Real>(rng.normal());
  const int64_t K = model.output_shape().numel();
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (auto& l : labels) l = static_cast<int32_t>(rng.below(static_cast<uint64_t>(K)));
  const bool f64 = sizeof(Real) == sizeof(double);
  std::printf("checking %lld parameters of '%s' against central differences (%s, sampled)\n",
              static_cast<long long>(model.param_count()), e.name.c_str(), f64 ? "float64" : "float32");
  std::fflush(stdout);
  bool ok = true;
  for (Mode mode : {Mode::eval, Mode::train}) {
    GradCheckOptions o;
    o.max_elements = 40;
    if (f64) o.steps = {1e-3, 1e-4, 1e-5, 1e-6, 1e-7};
    o.kinks_fail = false;
    auto r = check_model(model, *loss, x, Targets{labels, nullptr}, Pass{mode, e.seed, 0}, o);
    std::printf("  %-5s mode: %s\n", mode == Mode::train ? "train" : "eval", r.report().c_str());
    ok = ok && r.ok;
  }
  std::printf("%s\n", ok ? "gradients agree" : "GRADIENT MISMATCH");
  return ok ? 0 : 1;
}

int report(const std::vector<std::string>& args) {
  Args a(args, {"threads"}, {});
  if (a.positional.size() != 1) throw UsageError("expected a run folder");
  set_threads(a.threads());
  std::printf("report: %s\n", write_run_report(a.positional[0]).c_str());
  return 0;
}

int sweep(const std::vector<std::string>& args) {
  Args a(args, {"vary", "set", "runs", "threads", "device"}, {"no-progress"});
  if (a.positional.size() != 1) throw UsageError("expected one sweep or experiment file");
  install_stop_handlers();
  SweepPlan plan = plan_sweep(a.positional[0], a.all("vary"), overrides(a));
  TrainOptions opt = train_options(a);
  std::printf("sweep '%s': %zu variants of %s\n", plan.name.c_str(), plan.variants.size(), plan.experiment.c_str());
  std::string dir;
  std::string table = run_sweep(plan, opt, &dir);
  std::printf("\n%s\ncomparison: %s/comparison.html\n", table.c_str(), dir.c_str());
  return 0;
}

}  // namespace kiln::cli
