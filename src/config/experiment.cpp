#include "config/experiment.h"

#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>
#include <toml.hpp>

#include "backend/backend.h"
#include "tensor/check.h"

namespace kiln {

namespace {

// Reads typed keys out of one TOML table, remembering which were used, so that anything left
// over (a typo such as "learnig_rate") is reported instead of silently ignored.
class Section {
 public:
  Section(const toml::value* table, std::string path, std::string file)
      : table_(table), path_(std::move(path)), file_(std::move(file)) {}

  template <class F>
  void read(const std::string& key, F&& convert) {
    if (!table_) return;
    const auto& t = table_->as_table();
    auto it = t.find(key);
    if (it == t.end()) return;
    used_.insert(key);
    try {
      convert(it->second);
    } catch (const Error& e) {
      fail(it->second, key, e.what());
    }
  }
  void get(const std::string& key, std::string& out) {
    read(key, [&](const toml::value& v) {
      if (!v.is_string()) throw Error("expected a string, got " + type_name(v));
      out = v.as_string().str;
    });
  }
  void get(const std::string& key, double& out) {
    read(key, [&](const toml::value& v) {
      if (v.is_floating()) out = v.as_floating();
      else if (v.is_integer()) out = static_cast<double>(v.as_integer());
      else throw Error("expected a number, got " + type_name(v));
    });
  }
  void get(const std::string& key, int64_t& out, int64_t min = INT64_MIN) {
    read(key, [&](const toml::value& v) {
      if (!v.is_integer()) throw Error("expected an integer, got " + type_name(v));
      if (v.as_integer() < min) throw Error("must be at least " + std::to_string(min));
      out = v.as_integer();
    });
  }
  void get(const std::string& key, int& out) {
    int64_t x = out;
    get(key, x, 0);
    out = static_cast<int>(x);
  }
  void get(const std::string& key, uint64_t& out) {
    int64_t x = static_cast<int64_t>(out);
    get(key, x, 0);
    out = static_cast<uint64_t>(x);
  }
  void get(const std::string& key, bool& out) {
    read(key, [&](const toml::value& v) {
      if (!v.is_boolean()) throw Error("expected true or false, got " + type_name(v));
      out = v.as_boolean();
    });
  }
  void get(const std::string& key, std::vector<std::string>& out) {
    read(key, [&](const toml::value& v) {
      if (!v.is_array()) throw Error("expected an array of strings, got " + type_name(v));
      out.clear();
      for (const auto& e : v.as_array()) {
        if (!e.is_string()) throw Error("expected an array of strings, found " + type_name(e));
        out.push_back(e.as_string().str);
      }
    });
  }
  void get(const std::string& key, std::vector<double>& out) {
    read(key, [&](const toml::value& v) {
      if (!v.is_array()) throw Error("expected an array of numbers, got " + type_name(v));
      out.clear();
      for (const auto& e : v.as_array()) {
        if (e.is_floating()) out.push_back(e.as_floating());
        else if (e.is_integer()) out.push_back(static_cast<double>(e.as_integer()));
        else throw Error("expected an array of numbers, found " + type_name(e));
      }
    });
  }
  // Anything not read is unknown.
  void finish(const std::vector<std::string>& known_subtables = {}) const {
    if (!table_) return;
    for (const auto& [k, v] : table_->as_table()) {
      if (used_.count(k) || std::find(known_subtables.begin(), known_subtables.end(), k) != known_subtables.end())
        continue;
      std::string known;
      fail(v, k, "unknown key");
    }
  }
  [[noreturn]] void fail(const toml::value& v, const std::string& key, const std::string& msg) const {
    const auto loc = v.location();
    std::string where = loc.file_name() == "unknown file" ? file_ : loc.file_name();
    std::ostringstream os;
    os << where;
    if (loc.line() > 0) os << ":" << loc.line();
    os << ": key '" << (path_.empty() ? "" : path_ + ".") << key << "': " << msg;
    throw Error(os.str());
  }

 private:
  static std::string type_name(const toml::value& v) {
    std::ostringstream os;
    os << v.type();
    return os.str();
  }
  const toml::value* table_;
  std::string path_, file_;
  std::set<std::string> used_;
};

const toml::value* subtable(const toml::value& root, const std::string& key, const std::string& file) {
  const auto& t = root.as_table();
  auto it = t.find(key);
  if (it == t.end()) return nullptr;
  if (!it->second.is_table()) {
    Section s(&root, "", file);
    s.fail(it->second, key, "expected a table ([" + key + "])");
  }
  return &it->second;
}

// "a.b.c=value" -> root[a][b][c] = value parsed as TOML (or as a string when it is not TOML).
void apply_override(toml::value& root, const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw Error("--set '" + text + "': expected KEY=VALUE, e.g. optimizer.lr=0.01");
  std::string key = text.substr(0, eq), val = text.substr(eq + 1);
  toml::value parsed;
  try {
    std::istringstream is("v = " + val);
    parsed = toml::find(toml::parse(is, "--set " + text), "v");
  } catch (const std::exception&) {
    parsed = toml::value(val);  // a bare word: a string
  }
  toml::value* node = &root;
  std::string rest = key;
  for (;;) {
    auto dot = rest.find('.');
    std::string part = rest.substr(0, dot);
    if (part.empty()) throw Error("--set '" + text + "': empty key component");
    if (dot == std::string::npos) {
      node->as_table()[part] = parsed;
      return;
    }
    auto& t = node->as_table();
    if (!t.count(part)) t[part] = toml::table{};
    node = &t[part];
    if (!node->is_table()) throw Error("--set '" + text + "': '" + part + "' is not a table");
    rest = rest.substr(dot + 1);
  }
}

std::string quote(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

std::string num(double v) {
  std::ostringstream os;
  os << std::setprecision(10) << v;
  std::string s = os.str();
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // keep it a TOML float
  return s;
}

std::string to_toml(const Experiment& e) {
  std::ostringstream os;
  auto list = [](const auto& v, auto fmt) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + fmt(v[i]);
    return s + "]";
  };
  os << "# kiln experiment, fully resolved (defaults and --set overrides applied)\n";
  os << "name = " << quote(e.name) << "\n";
  if (!e.description.empty()) os << "description = " << quote(e.description) << "\n";
  os << "seed = " << e.seed << "\n\n[data]\n";
  const auto& d = e.data;
  os << "dataset = " << quote(d.dataset) << "\ndir = " << quote(d.dir) << "\nvalidation = " << num(d.validation)
     << "\nnormalize = " << (d.normalize ? "true" : "false") << "\n";
  if (!d.mean.empty()) os << "mean = " << list(d.mean, num) << "\n";
  if (!d.std.empty()) os << "std = " << list(d.std, num) << "\n";
  os << "limit_train = " << d.limit_train << "\nlimit_test = " << d.limit_test << "\ncrop_pad = " << d.crop_pad
     << "\nhflip = " << (d.hflip ? "true" : "false") << "\ncutout = " << d.cutout << "\n\n[model]\nlayers = [\n";
  for (const auto& l : e.layers) os << "  " << quote(l) << ",\n";
  os << "]\n\n[loss]\nname = " << quote(e.loss) << "\n\n[optimizer]\n";
  const auto& o = e.optimizer;
  os << "name = " << quote(o.name) << "\nlr = " << num(e.schedule.lr) << "\nmomentum = " << num(o.momentum)
     << "\nmomentum_form = " << quote(o.momentum_form) << "\nnesterov = " << (o.nesterov ? "true" : "false")
     << "\nweight_decay = " << num(o.weight_decay) << "\ndecoupled_weight_decay = " << (o.decoupled_decay ? "true" : "false")
     << "\nbeta1 = " << num(o.beta1) << "\nbeta2 = " << num(o.beta2) << "\neps = " << num(o.eps) << "\n\n[schedule]\n";
  const auto& s = e.schedule;
  os << "name = " << quote(s.name) << "\nstep_epochs = " << s.step_epochs << "\ngamma = " << num(s.gamma)
     << "\ndecay = " << num(s.decay) << "\nmin_lr = " << num(s.min_lr) << "\nwarmup_epochs = " << num(s.warmup_epochs)
     << "\nmax_lr = " << num(s.max_lr) << "\npct_start = " << num(s.pct_start) << "\ndiv_factor = " << num(s.div_factor)
     << "\nfinal_div_factor = " << num(s.final_div_factor) << "\n\n[train]\n";
  const auto& t = e.train;
  os << "batch_size = " << t.batch_size << "\nepochs = " << t.epochs << "\neval_batch_size = " << t.eval_batch_size
     << "\nlog_every = " << t.log_every << "\nthreads = " << t.threads << "\ndevice = " << quote(t.device) << "\n";
  return os.str();
}

Experiment from_toml(const toml::value& root, const std::string& file) {
  Experiment e;
  e.source = file;
  Section top(&root, "", file);
  top.get("name", e.name);
  top.get("description", e.description);
  top.get("seed", e.seed);
  top.finish({"data", "model", "loss", "optimizer", "schedule", "train"});

  Section data(subtable(root, "data", file), "data", file);
  auto& d = e.data;
  data.get("dataset", d.dataset);
  data.get("dir", d.dir);
  data.get("validation", d.validation);
  data.get("normalize", d.normalize);
  data.get("mean", d.mean);
  data.get("std", d.std);
  data.get("limit_train", d.limit_train, 0);
  data.get("limit_test", d.limit_test, 0);
  data.get("crop_pad", d.crop_pad, 0);
  data.get("hflip", d.hflip);
  data.get("cutout", d.cutout, 0);
  data.read("validation", [&](const toml::value&) {
    if (!(d.validation >= 0 && d.validation < 1)) throw Error("must be in [0, 1)");
  });
  data.finish();
  if (d.dir.empty()) d.dir = default_data_dir(d.dataset);

  Section model(subtable(root, "model", file), "model", file);
  model.get("layers", e.layers);
  model.finish();
  if (e.layers.empty()) throw Error(file + ": [model] layers is missing or empty");

  Section loss(subtable(root, "loss", file), "loss", file);
  loss.get("name", e.loss);
  double smoothing = 0;
  loss.get("label_smoothing", smoothing);
  loss.finish();
  if (smoothing != 0) {
    std::ostringstream os;
    os << e.loss << " smoothing=" << smoothing;
    e.loss = os.str();
  }

  Section opt(subtable(root, "optimizer", file), "optimizer", file);
  auto& o = e.optimizer;
  opt.get("name", o.name);
  opt.get("lr", e.schedule.lr);
  opt.get("momentum", o.momentum);
  opt.get("momentum_form", o.momentum_form);
  opt.get("nesterov", o.nesterov);
  opt.get("weight_decay", o.weight_decay);
  opt.get("decoupled_weight_decay", o.decoupled_decay);
  opt.get("beta1", o.beta1);
  opt.get("beta2", o.beta2);
  opt.get("eps", o.eps);
  opt.finish();

  Section sch(subtable(root, "schedule", file), "schedule", file);
  auto& s = e.schedule;
  sch.get("name", s.name);
  sch.get("step_epochs", s.step_epochs, 1);
  sch.get("gamma", s.gamma);
  sch.get("decay", s.decay);
  sch.get("min_lr", s.min_lr);
  sch.get("warmup_epochs", s.warmup_epochs);
  sch.get("max_lr", s.max_lr);
  sch.get("pct_start", s.pct_start);
  sch.get("div_factor", s.div_factor);
  sch.get("final_div_factor", s.final_div_factor);
  sch.finish();

  Section train(subtable(root, "train", file), "train", file);
  auto& t = e.train;
  train.get("batch_size", t.batch_size, 1);
  train.get("epochs", t.epochs, 1);
  train.get("eval_batch_size", t.eval_batch_size, 1);
  train.get("log_every", t.log_every, 1);
  train.get("threads", t.threads);
  train.get("device", t.device);
  train.finish();
  s.total_epochs = t.epochs;
  train.read("device", [&](const toml::value&) {
    if (t.device != "cpu" && t.device != "cuda") throw Error("'" + t.device + "': expected cpu or cuda");
  });

  // Validate the optimizer and schedule now, so a bad value fails before any data is read.
  make_optimizer(o, 1);
  make_schedule(s);
  e.resolved = to_toml(e);
  return e;
}

toml::value parse_root(std::istream& is, const std::string& name) {
  try {
    return toml::parse(is, name);
  } catch (const std::exception& ex) {
    throw Error(std::string(ex.what()));
  }
}

}  // namespace

Device device_of(const TrainConfig& t) {
  const Device d = t.device == "cuda" ? Device::cuda : Device::cpu;
  if (!device_available(d))
    throw Error("train.device = \"" + t.device + "\": " +
                (cuda_backend_built() ? std::string("no usable NVIDIA GPU was found")
                                      : std::string("this build of kiln has no CUDA backend (configure it where nvcc is installed)")));
  return d;
}

std::string default_data_dir(const std::string& dataset) {
  if (dataset == "fashion-mnist") return "/usr/share/datasets/fashion-mnist";
  if (dataset == "mnist") return "../shared/datasets/mnist";
  if (dataset == "cifar10") return ".data/cifar10";
  return "";
}

Experiment parse_experiment(const std::string& text, const std::string& name, const std::vector<std::string>& overrides) {
  std::istringstream is(text);
  toml::value root = parse_root(is, name);
  for (const auto& o : overrides) apply_override(root, o);
  return from_toml(root, name);
}

Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open experiment file");
  std::ostringstream ss;
  ss << f.rdbuf();
  return parse_experiment(ss.str(), path, overrides);
}

}  // namespace kiln
