#pragma once
// One line of the compact layer syntax: a name, positional arguments and key=value options.
//   "conv 16 5x5 pad=2 stride=1"   "maxpool 2"   "dropout 0.5"   "dense 10 bias=false"
// Accessors consume what they read; finish() rejects anything left over, so a typo is an
// error ("conv: unknown option 'strde'") instead of being silently ignored.
#include <map>
#include <string>
#include <vector>

namespace kiln {

class SpecLine {
 public:
  SpecLine(const std::string& text, const std::string& context);
  std::string name;

  bool has_positional() const { return next_ < positional_.size(); }
  std::string positional(const char* what);  // required
  int64_t positional_int(const char* what);
  double positional_double(const char* what);
  // "5x5" -> {5, 5}; "5" -> {5, 5}
  std::pair<int64_t, int64_t> positional_size(const char* what);

  bool has_option(const std::string& key) const { return options_.count(key) > 0; }
  int64_t option_int(const std::string& key, int64_t fallback);
  double option_double(const std::string& key, double fallback);
  bool option_bool(const std::string& key, bool fallback);
  void finish() const;
  [[noreturn]] void fail(const std::string& msg) const;

 private:
  std::string text_, context_;
  std::vector<std::string> positional_;
  size_t next_ = 0;
  std::map<std::string, std::string> options_;
};

int64_t parse_int(const std::string& s, const std::string& what);
double parse_double(const std::string& s, const std::string& what);

}  // namespace kiln
