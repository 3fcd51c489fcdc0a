#include "config/toml_fields.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iomanip>

#include "tensor/check.h"
#include "tensor/suggest.h"

namespace kiln {

namespace {

std::string type_name(const toml::value& v) {
  std::ostringstream os;
  os << v.type();
  return os.str();
}

// The integer exactly as written: toml11 saturates values beyond int64 without a word
// (99999999999999999999 reads as 9223372036854775807), so the token is parsed again here.
// Returns false when it does not fit.
bool exact_integer(const toml::value& v, int64_t& out) {
  out = v.as_integer();
  const auto loc = v.location();
  const std::string line = loc.line_str();
  if (loc.column() < 1 || loc.column() - 1 + loc.region() > line.size()) return true;  // no source text
  std::string tok;
  for (char c : line.substr(loc.column() - 1, loc.region()))
    if (c != '_') tok += c;
  bool neg = false;
  size_t i = 0;
  if (i < tok.size() && (tok[i] == '+' || tok[i] == '-')) neg = tok[i++] == '-';
  int base = 10;
  if (tok.size() > i + 1 && tok[i] == '0' && (tok[i + 1] == 'x' || tok[i + 1] == 'o' || tok[i + 1] == 'b')) {
    base = tok[i + 1] == 'x' ? 16 : tok[i + 1] == 'o' ? 8 : 2;
    i += 2;
  }
  uint64_t mag = 0;
  auto [p, ec] = std::from_chars(tok.data() + i, tok.data() + tok.size(), mag, base);
  if (ec == std::errc::result_out_of_range) return false;
  if (ec != std::errc() || p != tok.data() + tok.size()) return true;  // not what we thought: trust toml11
  if (neg ? mag > uint64_t{1} << 63 : mag > uint64_t{INT64_MAX}) return false;
  return true;
}

double number_of(const toml::value& v, bool* ok) {
  *ok = true;
  if (v.is_floating()) return v.as_floating();
  if (v.is_integer()) {
    int64_t i = 0;
    *ok = exact_integer(v, i);
    return static_cast<double>(i);
  }
  *ok = false;
  return 0;
}

}  // namespace

// ---- reading ----

void TomlReader::section(const char* name) {
  section_ = name;
  known_[section_];
  table_ = nullptr;
  if (section_.empty()) {
    table_ = &root_;
    return;
  }
  const auto& t = root_.as_table();
  auto it = t.find(section_);
  if (it == t.end()) return;
  if (!it->second.is_table()) {
    std::ostringstream os;
    const auto loc = it->second.location();
    os << (loc.file_name() == "unknown file" ? file_ : loc.file_name());
    if (loc.line() > 0) os << ":" << loc.line();
    os << ": '" << section_ << "' must be a table ([" << section_ << "]), got " << type_name(it->second);
    throw Error(os.str());
  }
  table_ = &it->second;
}

const toml::value* TomlReader::find(const char* name) {
  known_[section_].insert(name);
  if (!table_) return nullptr;
  const auto& t = table_->as_table();
  auto it = t.find(name);
  if (it == t.end()) return nullptr;
  read_[section_].insert(name);
  return &it->second;
}

bool TomlReader::has(const char* name) const {
  if (!table_) return false;
  return table_->as_table().count(name) > 0;
}

void TomlReader::fail(const toml::value& v, const std::string& key, const std::string& msg) const {
  fail_in(v, section_, key, msg);
}

void TomlReader::fail_in(const toml::value& v, const std::string& section, const std::string& key,
                         const std::string& msg) const {
  const auto loc = v.location();
  std::ostringstream os;
  const std::string source = loc.file_name() == "unknown file" ? file_ : loc.file_name();
  os << source;
  if (loc.line() > 0 && source.rfind("--set ", 0) != 0) os << ":" << loc.line();  // a --set is one line
  os << ": key '" << (section.empty() ? key : section + "." + key) << "': " << msg;
  throw Error(os.str());
}

void TomlReader::key(const char* name, std::string& out, const char*, const std::vector<std::string>& choices) {
  const toml::value* v = find(name);
  if (!v) return;
  if (!v->is_string()) fail(*v, name, "expected a string, got " + type_name(*v));
  const std::string s = v->as_string().str;
  if (!choices.empty() && std::find(choices.begin(), choices.end(), s) == choices.end())
    fail(*v, name, "'" + s + "' is not one of " + join_or(choices) + did_you_mean(s, choices));
  out = s;
}

void TomlReader::key(const char* name, double& out, const char*, Bounds b) {
  const toml::value* v = find(name);
  if (!v) return;
  bool ok = false;
  const double x = number_of(*v, &ok);
  if (!v->is_floating() && !v->is_integer()) fail(*v, name, "expected a number, got " + type_name(*v));
  if (!ok) fail(*v, name, "the integer is too large (must be " + b.text() + ")");
  if (!b.contains(x)) fail(*v, name, out_of_bounds(x, b));
  out = x;
}

void TomlReader::key(const char* name, int64_t& out, const char*, Bounds b) {
  const toml::value* v = find(name);
  if (!v) return;
  if (!v->is_integer()) fail(*v, name, "expected an integer, got " + type_name(*v));
  int64_t x = 0;
  if (!exact_integer(*v, x)) fail(*v, name, "the integer is too large (must be " + b.text() + ")");
  if (!b.contains(static_cast<double>(x))) fail(*v, name, out_of_bounds(static_cast<double>(x), b));
  out = x;
}

void TomlReader::key(const char* name, bool& out, const char*) {
  const toml::value* v = find(name);
  if (!v) return;
  if (!v->is_boolean()) fail(*v, name, "expected true or false, got " + type_name(*v));
  out = v->as_boolean();
}

void TomlReader::key(const char* name, std::vector<double>& out, const char*, Bounds each) {
  const toml::value* v = find(name);
  if (!v) return;
  if (!v->is_array()) fail(*v, name, "expected an array of numbers, got " + type_name(*v));
  std::vector<double> r;
  for (const auto& e : v->as_array()) {
    bool ok = false;
    const double x = number_of(e, &ok);
    if (!e.is_floating() && !e.is_integer()) fail(e, name, "expected an array of numbers, found " + type_name(e));
    if (!ok || !each.contains(x)) fail(e, name, ok ? out_of_bounds(x, each) : "an integer is too large");
    r.push_back(x);
  }
  out = r;
}

void TomlReader::key(const char* name, std::vector<std::string>& out, const char*) {
  const toml::value* v = find(name);
  if (!v) return;
  if (!v->is_array()) fail(*v, name, "expected an array of strings, got " + type_name(*v));
  std::vector<std::string> r;
  for (const auto& e : v->as_array()) {
    if (!e.is_string()) fail(e, name, "expected an array of strings, found " + type_name(e));
    r.push_back(e.as_string().str);
  }
  out = r;
}

void TomlReader::finish() const {
  std::vector<std::string> sections;
  for (const auto& [s, keys] : known_)
    if (!s.empty()) sections.push_back(s);
  for (const auto& [s, keys] : known_) {
    const toml::value* table = &root_;
    if (!s.empty()) {
      auto it = root_.as_table().find(s);
      if (it == root_.as_table().end()) continue;
      table = &it->second;
    }
    const std::vector<std::string> names(keys.begin(), keys.end());
    const auto& done = read_.count(s) ? read_.at(s) : std::set<std::string>{};
    for (const auto& [k, v] : table->as_table()) {
      if (done.count(k) || (s.empty() && known_.count(k))) continue;
      if (s.empty() && v.is_table())
        fail_in(v, s, k, "unknown section [" + k + "]" + did_you_mean(k, sections) + " (known: " + join_or(sections) + ")");
      fail_in(v, s, k, "unknown key" + did_you_mean(k, names));
    }
  }
}

// ---- writing ----

std::string toml_quote(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      o += b;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

std::string toml_number(double v) {
  std::ostringstream os;
  os << std::setprecision(10) << v;
  std::string s = os.str();
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // keep it a TOML float
  return s;
}

void TomlWriter::section(const char* name) {
  section_ = name;
  if (!body_.count(section_)) {
    body_[section_];
    order_.push_back(section_);
  }
}

void TomlWriter::line(const char* name, const std::string& value) { body_[section_] += std::string(name) + " = " + value + "\n"; }

void TomlWriter::key(const char* name, std::string& v, const char*, const std::vector<std::string>&) { line(name, toml_quote(v)); }
void TomlWriter::key(const char* name, double& v, const char*, Bounds) { line(name, toml_number(v)); }
void TomlWriter::key(const char* name, int64_t& v, const char*, Bounds) { line(name, std::to_string(v)); }
void TomlWriter::key(const char* name, bool& v, const char*) { line(name, v ? "true" : "false"); }
void TomlWriter::key(const char* name, std::vector<double>& v, const char*, Bounds) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + toml_number(v[i]);
  line(name, s + "]");
}
void TomlWriter::key(const char* name, std::vector<std::string>& v, const char*) {
  std::string s = "[\n";
  for (const auto& e : v) s += "  " + toml_quote(e) + ",\n";
  line(name, s + "]");
}

std::string TomlWriter::str(const std::string& heading) const {
  std::string out = heading;
  if (body_.count("")) out += body_.at("");
  for (const auto& s : order_)
    if (!s.empty()) out += "\n[" + s + "]\n" + body_.at(s);
  return out;
}

// ---- parsing ----

toml::value parse_toml(const std::string& text, const std::string& name, int max_depth) {
  // A scan for the depth of [ and { outside strings and comments, before toml11 recurses.
  int depth = 0, line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      const bool multi = text.compare(i, 3, std::string(3, c)) == 0;
      const std::string close = multi ? std::string(3, c) : std::string(1, c);
      for (i += close.size(); i < text.size() && text.compare(i, close.size(), close) != 0; ++i) {
        if (text[i] == '\n') ++line;
        if (c == '"' && text[i] == '\\') ++i;  // an escape: the next character is taken as is
        if (!multi && i < text.size() && text[i] == '\n') break;  // unterminated: toml11 says so
      }
      if (multi) i += 2;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        throw Error(name + ":" + std::to_string(line) + ": arrays or inline tables nested more than " +
                    std::to_string(max_depth) + " deep");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  std::istringstream is(text);
  try {
    return toml::parse(is, name);
  } catch (const std::exception& ex) {
    throw Error(std::string(ex.what()));
  }
}

void apply_override(toml::value& root, const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw Error("--set '" + text + "': expected KEY=VALUE, e.g. optimizer.lr=0.01");
  std::string key = text.substr(0, eq), val = text.substr(eq + 1);
  toml::value parsed;
  // A bare word (--set data.dataset=mnist) is a string. It is parsed as a quoted one rather than
  // built, so that it too carries its source ("--set KEY=VALUE") for the errors that name it.
  auto as_string = [&] {
    std::string quoted = "\"";
    for (char c : val) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {  // a TOML string holds control characters only escaped
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\u%04x", u);
        quoted += esc;
        continue;
      }
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    return toml::find(parse_toml("v = " + quoted + "\"", "--set " + text), "v");
  };
  try {
    parsed = toml::find(parse_toml("v = " + val, "--set " + text), "v");
  } catch (const Error& e) {
    if (std::string(e.what()).find("nested more than") != std::string::npos) throw;
    parsed = as_string();
  } catch (const std::exception&) {
    parsed = as_string();
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
    // A table the override creates is parsed too, so that an error about it ("unknown key
    // 'data.augment'") names the --set rather than the file it was applied to.
    if (!t.count(part)) t[part] = toml::find(parse_toml("v = {}", "--set " + text), "v");
    node = &t[part];
    if (!node->is_table()) throw Error("--set '" + text + "': '" + part + "' is not a table");
    rest = rest.substr(dot + 1);
  }
}

}  // namespace kiln
