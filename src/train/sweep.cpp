#include "train/sweep.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <toml.hpp>

#include "report/sweep.h"
#include "config/toml_fields.h"
#include "dist/comm.h"
#include "tensor/files.h"
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
  const toml::value root = parse_toml(read_file(file, "sweep file"), file);
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

namespace {

// A variant is its whole resolved experiment: the folder is its (safe, shortened) name plus a
// hash of that experiment, so a changed variant trains in a folder of its own, and names that
// agree for a long stretch stay apart.
std::string variant_folder(const Variant& v, const Experiment& e) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  for (unsigned char c : e.resolved) h = (h ^ c) * 1099511628211ULL;
  char id[20];
  std::snprintf(id, sizeof id, "%012llx", static_cast<unsigned long long>(h & 0xffffffffffffULL));
  return safe_name(v.name, 48) + "-" + id;
}

std::string settings_of(const std::vector<std::string>& overrides) {
  std::string s;
  for (const auto& o : overrides) s += (s.empty() ? "" : "; ") + o;
  return s;
}

// The index of every variant the sweep folder holds (sweep.toml): name, folder, settings,
// the varied keys. Kept across runs of the sweep, so that the comparison lists them all.
struct Indexed {
  std::string name, folder, settings;
  std::vector<std::pair<std::string, std::string>> values;
};

std::vector<Indexed> read_index(const std::string& path) {
  std::vector<Indexed> out;
  if (!fs::exists(path)) return out;
  try {
    const toml::value root = parse_toml(read_text_file(path), path);
    if (!root.as_table().count("variant")) return out;
    for (const auto& v : toml::find(root, "variant").as_array()) {
      Indexed x{toml::find<std::string>(v, "name"), toml::find<std::string>(v, "folder"),
                toml::find<std::string>(v, "settings"), {}};
      if (v.as_table().count("values"))
        for (const auto& [k, val] : toml::find(v, "values").as_table()) x.values.emplace_back(k, val.as_string().str);
      out.push_back(std::move(x));
    }
  } catch (const std::exception& e) {
    throw Error(path + ": the sweep's index is damaged (" + e.what() + "); remove it to start the comparison afresh");
  }
  return out;
}

void write_index(const std::string& path, const std::vector<Indexed>& index) {
  std::string t = "# The variants this sweep folder holds (written by kiln sweep).\n";
  for (const auto& x : index) {
    t += "\n[[variant]]\nname = " + toml_quote(x.name) + "\nfolder = " + toml_quote(x.folder) +
         "\nsettings = " + toml_quote(x.settings) + "\nvalues = {";
    for (size_t i = 0; i < x.values.size(); ++i)
      t += (i ? ", " : " ") + toml_quote(x.values[i].first) + " = " + toml_quote(x.values[i].second);
    t += x.values.empty() ? "}\n" : " }\n";
  }
  write_file_atomic(path, t);
}

SweepRow row_of(const Indexed& x, const std::string& dir) {
  SweepRow row{};
  row.name = x.name;
  row.settings = x.settings;
  for (const auto& [k, v] : x.values) row.values[k] = v;
  if (fs::exists(dir + "/report.html")) row.report = x.folder + "/report.html";
  row.epochs = fs::exists(dir + "/metrics.csv") ? read_epoch_csv(dir + "/metrics.csv") : std::vector<EpochRow>{};
  row.regression = fs::exists(dir + "/metrics.csv") && is_regression_epoch_csv(dir + "/metrics.csv");
  row.final_train_loss = row.final_train_acc = row.final_test_loss = row.final_test_acc = NAN;
  row.best_test_acc = row.best_test_loss = NAN;
  if (!row.epochs.empty()) {
    const auto& last = row.epochs.back();
    row.final_train_loss = last.train_loss;
    row.final_train_acc = last.train_acc;
    row.final_test_loss = last.test_loss;
    row.final_test_acc = last.test_acc;
    row.final_val_acc = last.val_acc;
    row.best_test_acc = last.test_acc;
    row.best_test_loss = last.test_loss;
    row.final_train_rmse = last.train_rmse;
    row.final_test_rmse = row.best_test_rmse = last.test_rmse;
    row.final_test_mae = last.test_mae;
    row.final_val_rmse = last.val_rmse;
    for (const auto& e : row.epochs) {
      row.best_test_rmse = std::min(row.best_test_rmse, e.test_rmse);
      if (std::isfinite(e.val_rmse))
        row.best_val_rmse = std::isfinite(row.best_val_rmse) ? std::min(row.best_val_rmse, e.val_rmse) : e.val_rmse;
      row.best_test_acc = std::max(row.best_test_acc, e.test_acc);
      row.best_test_loss = std::min(row.best_test_loss, e.test_loss);
      if (std::isfinite(e.val_acc)) row.best_val_acc = std::isfinite(row.best_val_acc) ? std::max(row.best_val_acc, e.val_acc) : e.val_acc;
      row.seconds += e.seconds;
    }
  }
  if (fs::exists(dir + "/manifest.toml"))
    for (const auto& [k, val] : read_key_values(dir + "/manifest.toml"))
      if (k == "parameters") row.params = std::stoll(val);
  return row;
}

// Which variants a rank trains, handed out as the ranks become free: a variant is claimed by
// creating its file in a claims folder of this sweep invocation (open with O_EXCL: exactly one
// rank succeeds, on a local disk as on NFS). Rank r starts with variant r, so the first round
// is fixed; after that each rank that finishes takes the lowest variant no rank has claimed.
// Files rather than messages because a rank is busy training between claims and only its main
// thread may call MPI, so no rank could answer another's request in time.
class Claims {
 public:
  Claims(std::string dir, const Comm& comm) : dir_(std::move(dir)), rank_(comm.rank()), ranks_(comm.size()) {}
  // The next variant for this rank, or false when every one is claimed.
  bool next(size_t variants, size_t& out) {
    if (ranks_ == 1) {  // one rank trains them all, in order
      if (at_ >= variants) return false;
      out = at_++;
      return true;
    }
    if (!started_) {
      started_ = true;
      at_ = static_cast<size_t>(ranks_);
      if (static_cast<size_t>(rank_) < variants && claim(static_cast<size_t>(rank_))) {
        out = static_cast<size_t>(rank_);
        return true;
      }
    }
    for (; at_ < variants; ++at_)
      if (claim(at_)) {
        out = at_++;
        return true;
      }
    return false;
  }

 private:
  bool claim(size_t i) const {
    const std::string path = dir_ + "/" + std::to_string(i);
    const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd >= 0) {
      const std::string who = std::to_string(rank_) + "\n";
      const ssize_t wrote = ::write(fd, who.data(), who.size());
      ::close(fd);
      (void)wrote;  // the file's existence is the claim; its text only says who, for a person
      return true;
    }
    if (errno == EEXIST) return false;
    throw Error("sweep: cannot create the claim file " + path + ": " + std::strerror(errno) +
                " (the sweep folder must be writable by every rank, on a file system they share)");
  }
  std::string dir_;
  int rank_, ranks_;
  bool started_ = false;
  size_t at_ = 0;
};

// A claims folder no earlier invocation of the sweep can have left behind.
std::string fresh_claims_dir(const std::string& sweep_dir) {
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return sweep_dir + "/.claims-" + std::to_string(::getpid()) + "-" + std::to_string(now);
}

}  // namespace

// With several ranks (mpirun -np N kiln sweep), each variant is trained by one rank alone,
// each rank one variant at a time, the next variant going to the next rank that is free
// (Claims); rank 0 writes the index before and the comparison after, once every rank is done
// (a failure on any stops all, named).
std::string run_sweep(const SweepPlan& plan, const TrainOptions& options, std::string* sweep_dir_out) {
  Comm& comm = options.comm ? *options.comm : world();
  const std::string sweep_dir = (fs::path(options.runs_dir) / safe_name(plan.name)).string();
  if (sweep_dir_out) *sweep_dir_out = sweep_dir;
  const std::string index_path = sweep_dir + "/sweep.toml";
  std::vector<Indexed> index;
  std::vector<std::pair<Experiment, std::string>> runs;  // each variant's experiment and folder
  comm.together([&] {
    if (comm.rank() == 0) {
      fs::create_directories(sweep_dir);
      index = read_index(index_path);
    }
    for (const auto& v : plan.variants) {
      std::vector<std::string> all = plan.base_overrides;
      all.insert(all.end(), v.overrides.begin(), v.overrides.end());
      Experiment e = load_experiment(plan.experiment, all);
      const std::string folder = variant_folder(v, e);
      runs.emplace_back(std::move(e), (fs::path(sweep_dir) / folder).string());
      if (comm.rank() != 0) continue;
      if (std::none_of(index.begin(), index.end(), [&](const Indexed& x) { return x.folder == folder; })) {
        index.push_back({v.name, folder, settings_of(all), v.values});
        write_index(index_path, index);
      }
    }
  });
  std::string claims_dir;
  if (comm.size() > 1) {
    comm.together([&] {
      if (comm.rank() == 0) {
        claims_dir = fresh_claims_dir(sweep_dir);
        fs::create_directories(claims_dir);
      }
    });
    claims_dir = comm.broadcast(claims_dir, 0);
  }
  struct RemoveClaims {  // by rank 0, once every rank is past the loop (together() agrees)
    const std::string& dir;
    bool owner;
    ~RemoveClaims() {
      std::error_code ec;
      if (owner && !dir.empty()) fs::remove_all(dir, ec);
    }
  } remove_claims{claims_dir, comm.rank() == 0};
  Claims claims(claims_dir, comm);
  std::unique_ptr<Comm> alone = local_comm();
  // The ranks that finish first wait for the others without a deadline: a variant takes as
  // long as it takes.
  const double deadline = comm.set_timeout(0);
  comm.together([&] {
    for (size_t i = 0; claims.next(runs.size(), i);) {
      const auto& [e, dir] = runs[i];
      const std::string who = comm.size() > 1 ? " (rank " + std::to_string(comm.rank()) + ")" : "";
      std::printf("\n[%zu/%zu] %s%s\n", i + 1, runs.size(), plan.variants[i].name.c_str(), who.c_str());
      std::fflush(stdout);
      TrainOptions opt = options;
      opt.run_dir = dir;
      opt.comm = alone.get();
      if (comm.size() > 1) opt.progress = false;  // bars of several ranks would overwrite each other
      if (fs::exists(dir + "/weights.kiln")) {
        std::printf("already trained with these settings: %s\n", dir.c_str());
        continue;
      }
      RunResult r = fs::exists(dir + "/checkpoint.kiln") ? resume(dir, opt) : train(e, opt);
      if (r.status == RunResult::Status::interrupted) {
        std::printf("%s\n", r.message.c_str());
        throw Error("sweep interrupted; run the same command again to continue it");
      }
      if (r.status == RunResult::Status::diverged) std::printf("%s\n", r.message.c_str());
    }
  });
  comm.set_timeout(deadline);
  if (comm.rank() != 0) return "";
  std::vector<SweepRow> rows;
  for (const auto& x : index) rows.push_back(row_of(x, (fs::path(sweep_dir) / x.folder).string()));
  return write_sweep(rows, sweep_dir);
}

}  // namespace kiln
