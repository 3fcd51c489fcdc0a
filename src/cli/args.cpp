// The one file that includes CLI11 (Debian libcli11-dev): it parses, finds what is unknown and
// formats --help; the values are checked here, with kiln's messages.
#include "cli/args.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "tensor/suggest.h"

namespace kiln::cli {

namespace {

std::string range_text(const OptionSpec& o) {
  auto num = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.15g", v);
    return std::string(b);
  };
  if (o.hi >= std::numeric_limits<double>::max()) return "≥ " + num(o.lo);
  return "[" + num(o.lo) + ", " + num(o.hi) + "]";
}

void check_value(const OptionSpec& o, const std::string& v) {
  if (!o.integer) return;
  int64_t x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || static_cast<double>(x) < o.lo || static_cast<double>(x) > o.hi)
    throw UsageError("--" + o.name + ": expected an integer " + range_text(o) + ", got '" + v + "'");
}

struct Built {
  CLI::App app;
  std::vector<std::string> positional;
  std::vector<std::vector<std::string>> values;  // one per option
  std::vector<bool> flags;
};

void build(const CommandSpec& spec, Built& b) {
  b.app.name("kiln " + spec.name);
  b.app.description(spec.summary);
  b.app.footer(spec.footer);
  b.app.allow_extras(true);  // kiln reports them, with suggestions
  b.values.resize(spec.options.size());
  b.flags.assign(spec.options.size(), false);
  if (!spec.positional.empty())
    b.app.add_option(spec.positional, b.positional, spec.positional_help)->expected(0, 1 << 20)->type_name("");  // counted below, after unknown options (whose value lands here)
  for (size_t i = 0; i < spec.options.size(); ++i) {
    const OptionSpec& o = spec.options[i];
    if (o.value.empty()) {
      b.app.add_flag_callback("--" + o.name, [&b, i] { b.flags[i] = true; }, o.help);
    } else {
      // One value per occurrence: `--set K=V FILE` leaves FILE to the positional (an option
      // bound to a vector would take every argument that follows it).
      auto* opt = b.app.add_option("--" + o.name, b.values[i], o.help)->type_name(o.value)->expected(1)->allow_extra_args(false);
      if (o.repeat) opt->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    }
  }
}

// "--threds": the nearest option; "--epochs": the experiment key it looks like.
std::string suggestion(const CommandSpec& spec, const std::string& arg) {
  std::string name = arg.substr(arg.find_first_not_of('-'));
  name = name.substr(0, name.find('='));
  std::vector<std::string> names;
  for (const auto& o : spec.options) names.push_back(o.name);
  std::string s = did_you_mean(name, names);
  if (!s.empty()) return " (did you mean '--" + s.substr(s.find('\'') + 1, s.rfind('\'') - s.find('\'') - 1) + "'?)";
  for (const auto& k : spec.set_keys)
    if (k.size() > name.size() && k.compare(k.size() - name.size(), name.size(), name) == 0 && k[k.size() - name.size() - 1] == '.')
      return " (to set " + k + ", use --set " + k + "=VALUE)";
  return "";
}

}  // namespace

std::string Args::one(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

int64_t Args::integer(const std::string& name, int64_t fallback) const {
  const std::string v = one(name);
  return v.empty() ? fallback : std::stoll(v);
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Args parse_command(const CommandSpec& spec, const std::vector<std::string>& args) {
  Built b;
  build(spec, b);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    b.app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::fputs(command_help(spec).c_str(), stdout);
    throw HelpShown{};
  } catch (const CLI::ParseError& e) {
    throw UsageError(e.what());
  }
  for (const std::string& extra : b.app.remaining()) {
    if (extra.rfind("-", 0) == 0) throw UsageError("unknown option '" + extra + "'" + suggestion(spec, extra));
    throw UsageError("unexpected argument '" + extra + "'");
  }
  Args a;
  a.raw = args;
  a.positional = b.positional;
  const int n = static_cast<int>(a.positional.size());
  if (n < spec.min_positional || n > spec.max_positional) {
    if (spec.max_positional == 0) throw UsageError("takes no arguments, got '" + a.positional[0] + "'");
    if (n < spec.min_positional) throw UsageError("expected " + spec.positional + " (" + spec.positional_help + ")");
    throw UsageError("expected at most " + std::to_string(spec.max_positional) + " " + spec.positional + ", got " +
                     std::to_string(n));
  }
  for (size_t i = 0; i < spec.options.size(); ++i) {
    const OptionSpec& o = spec.options[i];
    if (b.flags[i]) a.values_[o.name] = {};
    if (b.values[i].empty()) continue;
    for (const auto& v : b.values[i]) check_value(o, v);
    a.values_[o.name] = b.values[i];
  }
  return a;
}

std::string command_help(const CommandSpec& spec) {
  Built b;
  build(spec, b);
  return b.app.help();
}

OptionSpec threads_option() {
  return {"threads", "N", "threads of kiln's pool (0: all cores)", false, true, 0, 1024};
}
OptionSpec set_option() {
  return {"set", "KEY=VALUE", "override a key of the experiment file (repeatable): --set optimizer.lr=0.01", true};
}
OptionSpec device_option() { return {"device", "cpu|cuda", "where to run (train.device)"}; }

}  // namespace kiln::cli
