#pragma once
// One line of the compact layer syntax: a name, positional arguments, key=value options and,
// for blocks, a body in braces.
//   "conv 16 5x5 pad=2 stride=1"   "maxpool 2"   "dropout 0.5"   "residual proj { conv 16 3x3; relu }"
// Accessors consume what they read; finish() rejects anything left over, so a typo is an
// error ("conv: unknown option 'strde'") instead of being silently ignored. Every number is
// range-checked where it is read, and the error names the line, the value and the range.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace kiln {

class SpecLine {
 public:
  SpecLine(const std::string& text, const std::string& context);
  std::string name;  // lower-cased first word

  bool has_positional() const { return next_ < positional_.size(); }
  std::string positional(const char* what);  // required
  // Numbers must be representable (no overflow, finite) and within [lo, hi]. The meaning of a
  // value (a positive size, a probability) is checked once, by the layer's constructor, which
  // C++ and Python callers reach directly; the builder adds this line to its message.
  int64_t positional_int(const char* what, int64_t lo = kMinInt, int64_t hi = kMaxInt);
  double positional_double(const char* what, double lo = -kMaxDouble, double hi = kMaxDouble);
  // "5x5" -> {5, 5}; "5" -> {5, 5}
  std::pair<int64_t, int64_t> positional_size(const char* what, int64_t lo = kMinInt, int64_t hi = kMaxInt);

  bool has_option(const std::string& key) const { return options_.count(key) > 0; }
  int64_t option_int(const std::string& key, int64_t fallback, int64_t lo = kMinInt, int64_t hi = kMaxInt);
  double option_double(const std::string& key, double fallback, double lo = -kMaxDouble, double hi = kMaxDouble);
  bool option_bool(const std::string& key, bool fallback);
  // The text between the braces ("conv 16 3x3; relu"); fails when the line has none.
  std::string block(const char* what);
  bool has_block() const { return has_block_; }
  // Fails on anything not consumed: arguments, options, a block.
  void finish() const;
  [[noreturn]] void fail(const std::string& msg) const;
  const std::string& text() const { return text_; }

 private:
  static constexpr int64_t kMinInt = std::numeric_limits<int64_t>::min(), kMaxInt = std::numeric_limits<int64_t>::max();
  static constexpr double kMaxDouble = std::numeric_limits<double>::max();
  std::string text_, context_;
  std::vector<std::string> positional_;
  size_t next_ = 0;
  std::map<std::string, std::string> options_;
  std::string block_;
  bool has_block_ = false, block_used_ = false;
};

// Whole-string parses; the error names `what` and the text.
int64_t parse_int(const std::string& s, const std::string& what);
double parse_double(const std::string& s, const std::string& what);

// Splits "a; b { c; d }; e" at top-level semicolons, trimming blanks and dropping empty parts.
std::vector<std::string> split_specs(const std::string& text);

}  // namespace kiln
