#include "model/spec.h"

#include <cctype>
#include <charconv>
#include <sstream>

#include "tensor/check.h"

namespace kiln {

int64_t parse_int(const std::string& s, const std::string& what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) throw Error(what + ": expected an integer, got '" + s + "'");
  return v;
}

double parse_double(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  throw Error(what + ": expected a number, got '" + s + "'");
}

SpecLine::SpecLine(const std::string& text, const std::string& context) : text_(text), context_(context) {
  std::istringstream is(text);
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

int64_t SpecLine::positional_int(const char* what) {
  std::string s = positional(what);
  try {
    return parse_int(s, what);
  } catch (const Error& e) {
    fail(e.what());
  }
}

double SpecLine::positional_double(const char* what) {
  std::string s = positional(what);
  try {
    return parse_double(s, what);
  } catch (const Error& e) {
    fail(e.what());
  }
}

std::pair<int64_t, int64_t> SpecLine::positional_size(const char* what) {
  std::string s = positional(what);
  try {
    auto x = s.find('x');
    if (x == std::string::npos) {
      int64_t v = parse_int(s, what);
      return {v, v};
    }
    return {parse_int(s.substr(0, x), what), parse_int(s.substr(x + 1), what)};
  } catch (const Error& e) {
    fail(e.what());
  }
}

int64_t SpecLine::option_int(const std::string& key, int64_t fallback) {
  auto it = options_.find(key);
  if (it == options_.end()) return fallback;
  std::string v = it->second;
  options_.erase(it);
  try {
    return parse_int(v, key);
  } catch (const Error& e) {
    fail(e.what());
  }
}

double SpecLine::option_double(const std::string& key, double fallback) {
  auto it = options_.find(key);
  if (it == options_.end()) return fallback;
  std::string v = it->second;
  options_.erase(it);
  try {
    return parse_double(v, key);
  } catch (const Error& e) {
    fail(e.what());
  }
}

bool SpecLine::option_bool(const std::string& key, bool fallback) {
  auto it = options_.find(key);
  if (it == options_.end()) return fallback;
  std::string v = it->second;
  options_.erase(it);
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  fail(key + ": expected true or false, got '" + v + "'");
}

void SpecLine::finish() const {
  if (next_ < positional_.size()) fail("unexpected argument '" + positional_[next_] + "'");
  if (!options_.empty()) fail("unknown option '" + options_.begin()->first + "'");
}

}  // namespace kiln
