#include "layers/spec.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>

#include "tensor/check.h"

namespace kiln {

namespace {

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::string range_text(double lo, double hi) {
  std::ostringstream os;
  os << "[" << lo << ", " << hi << "]";
  return os.str();
}

}  // namespace

int64_t parse_int(const std::string& s, const std::string& what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) throw Error(what + ": '" + s + "' is out of range");
  if (ec != std::errc() || p != s.data() + s.size()) throw Error(what + ": expected an integer, got '" + s + "'");
  return v;
}

double parse_double(const std::string& s, const std::string& what) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && p == s.data() + s.size()) {
    if (!std::isfinite(v)) throw Error(what + ": expected a finite number, got '" + s + "'");
    return v;
  }
  if (ec == std::errc::result_out_of_range) throw Error(what + ": '" + s + "' is out of range");
  throw Error(what + ": expected a number, got '" + s + "'");
}

std::vector<std::string> split_specs(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (depth < 0) throw Error("unbalanced '}' in '" + text + "'");
    if (c == ';' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (depth != 0) throw Error("unbalanced '{' in '" + text + "'");
  parts.push_back(cur);
  std::vector<std::string> out;
  for (const auto& s : parts)
    if (std::string t = trim(s); !t.empty()) out.push_back(t);
  return out;
}

SpecLine::SpecLine(const std::string& text, const std::string& context) : text_(text), context_(context) {
  std::string head = text;
  if (const auto open = text.find('{'); open != std::string::npos) {
    const auto close = text.rfind('}');
    if (close == std::string::npos || close < open || !trim(text.substr(close + 1)).empty())
      fail("expected 'name ... { layer; layer; ... }' with the block last");
    head = text.substr(0, open);
    block_ = text.substr(open + 1, close - open - 1);
    has_block_ = true;
  } else if (text.find('}') != std::string::npos) {
    fail("unbalanced '}'");
  }
  std::istringstream is(head);
  std::string tok;
  while (is >> tok) {
    auto eq = tok.find('=');
    if (name.empty()) {
      name = tok;
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (eq != std::string::npos) {
      if (eq == 0 || eq + 1 == tok.size()) fail("malformed option '" + tok + "' (expected key=value)");
      options_[tok.substr(0, eq)] = tok.substr(eq + 1);
    } else {
      positional_.push_back(tok);
    }
  }
  if (name.empty()) fail("empty layer description");
}

void SpecLine::fail(const std::string& msg) const { throw Error(context_ + " '" + text_ + "': " + msg); }

std::string SpecLine::positional(const char* what) {
  if (next_ >= positional_.size()) fail(std::string("missing ") + what);
  return positional_[next_++];
}

int64_t SpecLine::positional_int(const char* what, int64_t lo, int64_t hi) {
  const std::string s = positional(what);
  int64_t v = 0;
  try {
    v = parse_int(s, what);
  } catch (const Error& e) {
    fail(e.what());
  }
  if (v < lo || v > hi) fail(std::string(what) + " " + s + " is outside " + range_text(double(lo), double(hi)));
  return v;
}

double SpecLine::positional_double(const char* what, double lo, double hi) {
  const std::string s = positional(what);
  double v = 0;
  try {
    v = parse_double(s, what);
  } catch (const Error& e) {
    fail(e.what());
  }
  if (!(v >= lo && v <= hi)) fail(std::string(what) + " " + s + " is outside " + range_text(lo, hi));
  return v;
}

std::pair<int64_t, int64_t> SpecLine::positional_size(const char* what, int64_t lo, int64_t hi) {
  const std::string s = positional(what);
  std::pair<int64_t, int64_t> v;
  try {
    const auto x = s.find('x');
    v = x == std::string::npos ? std::pair{parse_int(s, what), parse_int(s, what)}
                               : std::pair{parse_int(s.substr(0, x), what), parse_int(s.substr(x + 1), what)};
  } catch (const Error& e) {
    fail(e.what());
  }
  if (v.first < lo || v.first > hi || v.second < lo || v.second > hi)
    fail(std::string(what) + " " + s + ": each side must be in " + range_text(double(lo), double(hi)));
  return v;
}

int64_t SpecLine::option_int(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
  auto it = options_.find(key);
  if (it == options_.end()) return fallback;
  const std::string s = it->second;
  options_.erase(it);
  int64_t v = 0;
  try {
    v = parse_int(s, key);
  } catch (const Error& e) {
    fail(e.what());
  }
  if (v < lo || v > hi) fail(key + "=" + s + " is outside " + range_text(double(lo), double(hi)));
  return v;
}

double SpecLine::option_double(const std::string& key, double fallback, double lo, double hi) {
  auto it = options_.find(key);
  if (it == options_.end()) return fallback;
  const std::string s = it->second;
  options_.erase(it);
  double v = 0;
  try {
    v = parse_double(s, key);
  } catch (const Error& e) {
    fail(e.what());
  }
  if (!(v >= lo && v <= hi)) fail(key + "=" + s + " is outside " + range_text(lo, hi));
  return v;
}

bool SpecLine::option_bool(const std::string& key, bool fallback) {
  auto it = options_.find(key);
  if (it == options_.end()) return fallback;
  const std::string v = it->second;
  options_.erase(it);
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  fail(key + ": expected true or false, got '" + v + "'");
}

std::string SpecLine::block(const char* what) {
  if (!has_block_) fail(std::string("expected ") + what + " in braces: '" + name + " { layer; layer; ... }'");
  block_used_ = true;
  return block_;
}

void SpecLine::finish() const {
  if (next_ < positional_.size()) fail("unexpected argument '" + positional_[next_] + "'");
  if (!options_.empty()) fail("unknown option '" + options_.begin()->first + "'");
  if (has_block_ && !block_used_) fail("'" + name + "' takes no { block }");
}

}  // namespace kiln
