#pragma once
// The command line of one subcommand, declared once: its arguments and options with their
// help, and for numbers the allowed range. parse_command() reads argv against it (CLI11 does
// the parsing and the --help text, in args.cpp alone, so that its heavy header is compiled
// once), checks every value, and names the option, what was given and what is allowed;
// unknown options get the nearest known one, or the --set key they look like.
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln::cli {

// A mistake on the command line (exit status 2).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// --help was given and its text printed (exit status 0).
struct HelpShown {};

struct OptionSpec {
  std::string name;   // "threads" for --threads
  std::string value;  // "N", "DIR", "KEY=VALUE"; empty for a flag
  std::string help;
  bool repeat = false;                 // may be given several times (--set)
  bool integer = false;                // checked to be an integer in [lo, hi]
  double lo = std::numeric_limits<double>::lowest(), hi = std::numeric_limits<double>::max();
};

struct CommandSpec {
  std::string name;     // "train"
  std::string summary;  // one line, for `kiln --help`
  std::string positional, positional_help;  // "FILE", what it is; empty: none
  int min_positional = 0, max_positional = 0;
  std::vector<OptionSpec> options;
  std::string footer = "";  // examples, after the options
  std::vector<std::string> set_keys = {};  // the experiment's keys: "--epochs" suggests --set train.epochs
};

class Args {
 public:
  std::vector<std::string> positional;
  std::vector<std::string> raw;  // the arguments as given (to hand on to another binary)
  bool flag(const std::string& name) const { return values_.count(name) > 0; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string one(const std::string& name, const std::string& fallback = "") const;
  int64_t integer(const std::string& name, int64_t fallback) const;  // already range-checked
  std::vector<std::string> all(const std::string& name) const;

 private:
  friend Args parse_command(const CommandSpec& spec, const std::vector<std::string>& args);
  std::map<std::string, std::vector<std::string>> values_;
};

// Throws UsageError for a mistake, HelpShown after printing --help.
Args parse_command(const CommandSpec& spec, const std::vector<std::string>& args);
// The --help text of a command.
std::string command_help(const CommandSpec& spec);

// Options several commands share.
OptionSpec threads_option();
OptionSpec set_option();
OptionSpec device_option();

}  // namespace kiln::cli
