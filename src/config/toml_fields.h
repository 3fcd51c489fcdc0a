#pragma once
// Declared fields (config/fields.h) read from and written to TOML.
//
// TomlReader takes values out of a parsed document section by section as the fields are
// declared, checks each (type, range, choices, integer overflow) and names the file, the line
// and the key in every error; finish() reports what no declaration took (unknown keys and
// sections, with the nearest known name). TomlWriter prints the declared fields back, one
// table per section, in declaration order.
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <toml.hpp>
#include <vector>

#include "config/fields.h"

namespace kiln {

class TomlReader : public Fields {
 public:
  TomlReader(const toml::value& root, std::string file) : root_(root), file_(std::move(file)) {}
  void section(const char* name) override;
  void key(const char* name, std::string& v, const char* help, const std::vector<std::string>& choices) override;
  void key(const char* name, double& v, const char* help, Bounds b) override;
  void key(const char* name, int64_t& v, const char* help, Bounds b) override;
  void key(const char* name, bool& v, const char* help) override;
  void key(const char* name, std::vector<double>& v, const char* help, Bounds each) override;
  void key(const char* name, std::vector<std::string>& v, const char* help) override;
  // Throws for the first key or section that no declaration read.
  void finish() const;
  // Whether the document set this key of the current section.
  bool has(const char* name) const;

 private:
  const toml::value* find(const char* name);  // marks it read
  [[noreturn]] void fail(const toml::value& v, const std::string& key, const std::string& msg) const;
  [[noreturn]] void fail_in(const toml::value& v, const std::string& section, const std::string& key,
                            const std::string& msg) const;
  const toml::value& root_;
  std::string file_, section_;
  const toml::value* table_ = nullptr;  // the current section's table (null when absent)
  std::map<std::string, std::set<std::string>> known_, read_;  // per section
};

class TomlWriter : public Fields {
 public:
  void section(const char* name) override;
  void key(const char* name, std::string& v, const char* help, const std::vector<std::string>& choices) override;
  void key(const char* name, double& v, const char* help, Bounds b) override;
  void key(const char* name, int64_t& v, const char* help, Bounds b) override;
  void key(const char* name, bool& v, const char* help) override;
  void key(const char* name, std::vector<double>& v, const char* help, Bounds each) override;
  void key(const char* name, std::vector<std::string>& v, const char* help) override;
  // The document: top-level keys first, then one [table] per section.
  std::string str(const std::string& heading) const;

 private:
  void line(const char* name, const std::string& value);
  std::vector<std::string> order_;
  std::map<std::string, std::string> body_;  // section -> "key = value\n" lines
  std::string section_;
};

// TOML text for a string, a number (always with a point, so that it reads back as a float)
// and an array of strings, as the writer prints them.
std::string toml_quote(const std::string& s);
std::string toml_number(double v);

// Parses TOML text after checking that arrays and inline tables nest at most `max_depth`
// deep (toml11 recurses once a level: a 30,000-deep array would overflow the stack).
toml::value parse_toml(const std::string& text, const std::string& name, int max_depth = 32);

// "a.b.c=value": root[a][b][c] = value parsed as TOML (or as a string when it is not TOML).
void apply_override(toml::value& root, const std::string& text);

}  // namespace kiln
