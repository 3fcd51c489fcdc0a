#include "train/run_folder.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <thread>

#include "backend/runtime.h"
#include "kiln_revision.h"
#include "tensor/binio.h"
#include "tensor/check.h"


namespace fs = std::filesystem;

namespace kiln {

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
  return buf;
}

std::string safe_name(const std::string& name, size_t max_len) {
  std::string o;
  for (char c : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '=' || c == ',';
    const char d = ok ? c : '_';
    if (d == '_' && !o.empty() && o.back() == '_') continue;  // one '_' for a run of others
    o += d;
  }
  const size_t start = o.find_first_not_of("._-");  // no "..", no hidden or option-like names
  o = start == std::string::npos ? std::string() : o.substr(start);
  if (o.size() > max_len) o.resize(max_len);
  while (!o.empty() && (o.back() == '.' || o.back() == '_')) o.pop_back();
  return o.empty() ? "run" : o;
}

std::string make_run_dir(const std::string& runs_dir, const std::string& name) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::string base = (fs::path(runs_dir) / (safe_name(name) + "-" + stamp)).string(), dir = base;
  std::error_code ec;
  fs::create_directories(runs_dir, ec);
  if (ec) throw Error("cannot create the runs folder " + runs_dir + ": " + ec.message());
  // create_directory is the test: it fails (without following anything) when the name exists.
  for (int i = 2; !fs::create_directory(dir, ec); ++i) {
    if (ec) throw Error("cannot create run folder " + dir + ": " + ec.message());
    dir = base + "-" + std::to_string(i);
  }
  return dir;
}

std::string read_text_file(const std::string& path) { return read_file(path, "file"); }

KeyValues machine_manifest() {
  char host[256] = "unknown";
  ::gethostname(host, sizeof host - 1);
  KeyValues kv{{"kiln_version", KILN_VERSION}, {"git_revision", KILN_REVISION}, {"host", host}};
  for (auto& p : compute_description()) kv.push_back(p);
  kv.emplace_back("zlib", zlibVersion());
  kv.emplace_back("compiler", std::string("g++ ") + __VERSION__);
  return kv;
}

static std::string toml_quote(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o + "\"";
}

void write_key_values(const std::string& path, const KeyValues& kv) {
  std::ostringstream os;
  for (const auto& [k, v] : kv) os << k << " = " << toml_quote(v) << "\n";
  write_file_atomic(path, os.str());
}

KeyValues read_key_values(const std::string& path) {
  KeyValues kv;
  std::istringstream is(read_text_file(path));
  std::string line;
  while (std::getline(is, line)) {
    auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    std::string v = line.substr(eq + 3), out;
    if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) {
        ++i;
        out += v[i] == 'n' ? '\n' : v[i];
      } else {
        out += v[i];
      }
    }
    kv.emplace_back(line.substr(0, eq), out);
  }
  return kv;
}

static std::vector<std::vector<double>> read_csv_numbers(const std::string& path, size_t columns) {
  std::istringstream is(read_text_file(path));
  std::string line;
  std::getline(is, line);  // header
  std::vector<std::vector<double>> rows;
  int lineno = 1;
  while (std::getline(is, line)) {
    ++lineno;
    if (line.empty()) continue;
    std::vector<double> r;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) {
      try {
        r.push_back(cell.empty() || cell == "nan" ? NAN : std::stod(cell));
      } catch (const std::exception&) {
        throw Error(path + ":" + std::to_string(lineno) + ": not a number: '" + cell + "'");
      }
    }
    if (r.size() != columns)
      throw Error(path + ":" + std::to_string(lineno) + ": expected " + std::to_string(columns) + " columns, found " +
                  std::to_string(r.size()));
    rows.push_back(r);
  }
  return rows;
}

namespace {
constexpr const char* kEpochHeader = "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,val_loss,val_acc";
// A regression's columns: RMSE and MAE in the target's units where accuracies were.
constexpr const char* kRegressionEpochHeader =
    "epoch,train_loss,train_rmse,test_loss,test_mae,test_rmse,lr,seconds,val_loss,val_mae,val_rmse";
}  // namespace

void write_epoch_csv(const std::string& path, const std::vector<EpochRow>& rows, bool regression) {
  std::ostringstream os;
  os << (regression ? kRegressionEpochHeader : kEpochHeader) << "\n" << std::setprecision(9);
  for (const auto& r : rows) {
    if (regression)
      os << r.epoch << "," << r.train_loss << "," << r.train_rmse << "," << r.test_loss << "," << r.test_mae << ","
         << r.test_rmse << "," << r.lr << "," << r.seconds << "," << r.val_loss << "," << r.val_mae << "," << r.val_rmse
         << "\n";
    else
      os << r.epoch << "," << r.train_loss << "," << r.train_acc << "," << r.test_loss << "," << r.test_acc << ","
         << r.lr << "," << r.seconds << "," << r.val_loss << "," << r.val_acc << "\n";
  }
  write_file_atomic(path, os.str());
}

bool is_regression_epoch_csv(const std::string& path) {
  std::istringstream head(read_text_file(path));
  std::string header;
  std::getline(head, header);
  if (!header.empty() && header.back() == '\r') header.pop_back();
  return header == kRegressionEpochHeader;
}

std::vector<EpochRow> read_epoch_csv(const std::string& path) {
  std::vector<EpochRow> out;
  if (is_regression_epoch_csv(path)) {
    const double nan = std::nan("");
    for (auto& r : read_csv_numbers(path, 11)) {
      EpochRow e{static_cast<int64_t>(r[0]), r[1], nan, r[3], nan, r[6], r[7], r[8], nan};
      e.train_rmse = r[2], e.test_mae = r[4], e.test_rmse = r[5], e.val_mae = r[9], e.val_rmse = r[10];
      out.push_back(e);
    }
    return out;
  }
  for (auto& r : read_csv_numbers(path, 9))
    out.push_back({static_cast<int64_t>(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]});
  return out;
}

void write_batch_csv(const std::string& path, const std::vector<BatchRow>& rows) {
  std::ostringstream os;
  os << "step,epoch,loss,acc,lr\n" << std::setprecision(9);
  for (const auto& r : rows) os << r.step << "," << r.epoch << "," << r.loss << "," << r.acc << "," << r.lr << "\n";
  write_file_atomic(path, os.str());
}

std::vector<BatchRow> read_batch_csv(const std::string& path) {
  std::vector<BatchRow> out;
  for (auto& r : read_csv_numbers(path, 5)) out.push_back({static_cast<int64_t>(r[0]), r[1], r[2], r[3], r[4]});
  return out;
}

void write_grad_norm_csv(const std::string& path, const std::vector<std::string>& layers,
                         const std::vector<GradNormRow>& rows) {
  std::ostringstream os;
  os << "step,epoch";
  for (std::string l : layers) {
    std::replace(l.begin(), l.end(), ',', ' ');
    os << "," << l;
  }
  os << "\n" << std::setprecision(9);
  for (const auto& r : rows) {
    os << r.step << "," << r.epoch;
    for (double v : r.norms) os << "," << v;
    os << "\n";
  }
  write_file_atomic(path, os.str());
}

void read_grad_norm_csv(const std::string& path, std::vector<std::string>& layers, std::vector<GradNormRow>& rows) {
  std::istringstream is(read_text_file(path));
  std::string header;
  std::getline(is, header);
  std::stringstream hs(header);
  std::string cell;
  layers.clear();
  for (int i = 0; std::getline(hs, cell, ','); ++i)
    if (i >= 2) layers.push_back(cell);
  rows.clear();
  for (auto& r : read_csv_numbers(path, layers.size() + 2)) {
    GradNormRow g{static_cast<int64_t>(r[0]), r[1], {}};
    g.norms.assign(r.begin() + 2, r.end());
    rows.push_back(std::move(g));
  }
}

void write_histogram_csv(const std::string& path, const std::vector<WeightHistogram>& rows) {
  std::ostringstream os;
  os << "epoch,layer,lo,hi,counts\n" << std::setprecision(9);
  for (const auto& h : rows) {
    std::string layer = h.layer;
    std::replace(layer.begin(), layer.end(), ',', ' ');
    os << h.epoch << "," << layer << "," << h.lo << "," << h.hi << ",";
    for (size_t i = 0; i < h.counts.size(); ++i) os << (i ? " " : "") << h.counts[i];
    os << "\n";
  }
  write_file_atomic(path, os.str());
}

std::vector<WeightHistogram> read_histogram_csv(const std::string& path) {
  std::istringstream is(read_text_file(path));
  std::string line;
  std::getline(is, line);
  std::vector<WeightHistogram> out;
  int lineno = 1;
  while (std::getline(is, line)) {
    ++lineno;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(cell);
    if (f.size() != 5) throw Error(path + ":" + std::to_string(lineno) + ": expected 5 columns, found " + std::to_string(f.size()));
    WeightHistogram h;
    try {
      h.epoch = std::stoll(f[0]);
      h.layer = f[1];
      h.lo = std::stod(f[2]);
      h.hi = std::stod(f[3]);
      std::stringstream cs(f[4]);
      int64_t c = 0;
      while (cs >> c) h.counts.push_back(c);
    } catch (const std::exception&) {
      throw Error(path + ":" + std::to_string(lineno) + ": not a histogram row");
    }
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace kiln
