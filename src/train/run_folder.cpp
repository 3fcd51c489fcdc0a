#include "train/run_folder.h"

#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <thread>

#include "backend/runtime.h"
#include "tensor/binio.h"
#include "tensor/check.h"

#ifndef KILN_GIT_REV
#define KILN_GIT_REV "unknown"
#endif

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

std::string make_run_dir(const std::string& runs_dir, const std::string& name) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::string base = (fs::path(runs_dir) / (name + "-" + stamp)).string(), dir = base;
  std::error_code ec;
  fs::create_directories(runs_dir, ec);
  for (int i = 2; fs::exists(dir); ++i) dir = base + "-" + std::to_string(i);
  if (!fs::create_directory(dir, ec)) throw Error("cannot create run folder " + dir + ": " + ec.message());
  return dir;
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

KeyValues machine_manifest() {
  char host[256] = "unknown";
  ::gethostname(host, sizeof host - 1);
  KeyValues kv{{"kiln_version", KILN_VERSION}, {"git_revision", KILN_GIT_REV}, {"host", host}};
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

void write_epoch_csv(const std::string& path, const std::vector<EpochRow>& rows) {
  std::ostringstream os;
  os << "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,val_loss,val_acc\n" << std::setprecision(9);
  for (const auto& r : rows)
    os << r.epoch << "," << r.train_loss << "," << r.train_acc << "," << r.test_loss << "," << r.test_acc << ","
       << r.lr << "," << r.seconds << "," << r.val_loss << "," << r.val_acc << "\n";
  write_file_atomic(path, os.str());
}

std::vector<EpochRow> read_epoch_csv(const std::string& path) {
  std::vector<EpochRow> out;
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

}  // namespace kiln
