#include "train/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <toml.hpp>

#include "report/sweep.h"
#include "train/run_folder.h"

namespace fs = std::filesystem;

namespace kiln {

namespace {

std::string toml_text(const toml::value& v) {
  std::ostringstream os;
  os << v;
  std::string s = os.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// "optimizer.lr=0.001,model.width=2" -> a folder name without awkward characters.
std::string folder_name(const std::string& s) {
  std::string o;
  for (char c : s) o += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '=' || c == '_') ? c : '_';
  if (o.size() > 80) o = o.substr(0, 80);
  return o;
}

// Splits "a,b,[c,d]" at top-level commas.
std::vector<std::string> split_values(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  bool quoted = false;
  for (char c : s) {
    if (c == '"') quoted = !quoted;
    if (!quoted && (c == '[' || c == '{')) ++depth;
    if (!quoted && (c == ']' || c == '}')) --depth;
    if (c == ',' && depth == 0 && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

void add_grid(std::vector<Variant>& variants, const std::vector<std::pair<std::string, std::vector<std::string>>>& axes) {
  std::vector<Variant> grid{Variant{}};
  for (const auto& [key, values] : axes) {
    std::vector<Variant> next;
    for (const auto& g : grid)
      for (const auto& v : values) {
        Variant x = g;
        x.overrides.push_back(key + "=" + v);
        x.values.emplace_back(key, v);
        x.name += (x.name.empty() ? "" : ",") + key + "=" + v;
        next.push_back(x);
      }
    grid = next;
  }
  if (!axes.empty()) variants.insert(variants.end(), grid.begin(), grid.end());
}

}  // namespace

SweepPlan plan_sweep(const std::string& file, const std::vector<std::string>& vary, const std::vector<std::string>& overrides) {
  SweepPlan plan;
  plan.base_overrides = overrides;
  toml::value root;
  try {
    root = toml::parse(file);
  } catch (const std::exception& ex) {
    throw Error(ex.what());
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  if (root.is_table() && root.as_table().count("sweep")) {
    const auto& sw = toml::find(root, "sweep");
    try {
      plan.experiment = (fs::path(file).parent_path() / toml::find<std::string>(sw, "experiment")).string();
      plan.name = toml::find_or<std::string>(sw, "name", fs::path(file).stem().string());
      if (sw.as_table().count("vary"))
        for (const auto& [k, arr] : toml::find(sw, "vary").as_table()) {
          std::vector<std::string> vals;
          for (const auto& v : arr.as_array()) vals.push_back(toml_text(v));
          axes.emplace_back(k, vals);
        }
      if (sw.as_table().count("variant"))
        for (const auto& v : toml::find(sw, "variant").as_array()) {
          Variant x;
          x.name = toml::find<std::string>(v, "name");
          x.overrides = toml::find_or<std::vector<std::string>>(v, "set", {});
          plan.variants.push_back(x);
        }
    } catch (const Error&) {
      throw;
    } catch (const std::exception& ex) {
      throw Error(file + ": bad [sweep] table: " + ex.what());
    }
  } else {
    plan.experiment = file;
    plan.name = fs::path(file).stem().string() + "-sweep";
  }
  for (const auto& v : vary) {
    auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("--vary '" + v + "': expected KEY=V1,V2,...");
    axes.emplace_back(v.substr(0, eq), split_values(v.substr(eq + 1)));
  }
  add_grid(plan.variants, axes);
  if (plan.variants.empty()) throw Error(file + ": nothing to vary (give --vary KEY=V1,V2 or a [sweep] table)");
  // Validate every variant's configuration before the first run starts.
  for (const auto& v : plan.variants) {
    std::vector<std::string> all = plan.base_overrides;
    all.insert(all.end(), v.overrides.begin(), v.overrides.end());
    try {
      load_experiment(plan.experiment, all);
    } catch (const Error& e) {
      throw Error("variant '" + v.name + "': " + e.what());
    }
  }
  return plan;
}

std::string run_sweep(const SweepPlan& plan, const TrainOptions& options, std::string* sweep_dir_out) {
  const std::string sweep_dir = (fs::path(options.runs_dir) / folder_name(plan.name)).string();
  fs::create_directories(sweep_dir);
  if (sweep_dir_out) *sweep_dir_out = sweep_dir;
  std::vector<SweepRow> rows;
  int i = 0;
  for (const auto& v : plan.variants) {
    ++i;
    const std::string dir = (fs::path(sweep_dir) / folder_name(v.name)).string();
    std::printf("\n[%d/%zu] %s\n", i, plan.variants.size(), v.name.c_str());
    std::fflush(stdout);
    TrainOptions opt = options;
    opt.run_dir = dir;
    if (fs::exists(dir + "/weights.kiln")) {
      std::printf("already finished: %s\n", dir.c_str());
    } else {
      std::vector<std::string> all = plan.base_overrides;
      all.insert(all.end(), v.overrides.begin(), v.overrides.end());
      RunResult r = fs::exists(dir + "/checkpoint.kiln") ? resume(dir, opt)
                                                          : train(load_experiment(plan.experiment, all), opt);
      if (r.status == RunResult::Status::interrupted) {
        std::printf("%s\n", r.message.c_str());
        throw Error("sweep interrupted; run the same command again to continue it");
      }
      if (r.status == RunResult::Status::diverged) std::printf("%s\n", r.message.c_str());
    }
    SweepRow row{};
    row.name = v.name;
    for (const auto& [k, val] : v.values) row.values[k] = val;
    row.epochs = fs::exists(dir + "/metrics.csv") ? read_epoch_csv(dir + "/metrics.csv") : std::vector<EpochRow>{};
    row.final_train_loss = row.final_train_acc = row.final_test_loss = row.final_test_acc = NAN;
    row.best_test_acc = row.best_test_loss = NAN;
    if (!row.epochs.empty()) {
      const auto& last = row.epochs.back();
      row.final_train_loss = last.train_loss;
      row.final_train_acc = last.train_acc;
      row.final_test_loss = last.test_loss;
      row.final_test_acc = last.test_acc;
      row.best_test_acc = last.test_acc;
      row.best_test_loss = last.test_loss;
      for (const auto& e : row.epochs) {
        row.best_test_acc = std::max(row.best_test_acc, e.test_acc);
        row.best_test_loss = std::min(row.best_test_loss, e.test_loss);
        row.seconds += e.seconds;
      }
    }
    for (const auto& [k, val] : read_key_values(dir + "/manifest.toml"))
      if (k == "parameters") row.params = std::stoll(val);
    rows.push_back(row);
  }
  return write_sweep(rows, sweep_dir);
}

}  // namespace kiln
