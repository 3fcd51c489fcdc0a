#pragma once
// The keys of a configuration section, each declared once: a section's struct lists its
// members in fields(Fields&) with their name, help and allowed values, and its member
// initialisers are the defaults. Reading an experiment file, writing the resolved copy,
// validating values set from C++ or Python, listing the keys for --help and suggesting a
// key for a typo all walk that one list (config/experiment.cpp has the readers and writers).
//
//   void OptimizerConfig::fields(Fields& f) {
//     f.section("optimizer");
//     f.key("momentum", momentum, "μ", Bounds::below(0, 1));
//     f.key("momentum_form", momentum_form, "...", {"classic", "average"});
//   }
// A struct may declare a key of another section where the value is its own (the schedule's
// base rate is [optimizer] lr): the section() call before a key says where it lives.
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

// An interval of allowed numbers (finite ones only; NaN and infinity are never allowed).
struct Bounds {
  double lo, hi;
  bool lo_open = false, hi_open = false;
  static Bounds any() { return {-1.7976931348623157e308, 1.7976931348623157e308}; }
  static Bounds at_least(double lo) { return {lo, 1.7976931348623157e308}; }
  static Bounds positive() { return {0, 1.7976931348623157e308, true}; }
  static Bounds between(double lo, double hi) { return {lo, hi}; }     // [lo, hi]
  static Bounds below(double lo, double hi) { return {lo, hi, false, true}; }  // [lo, hi)
  bool contains(double v) const;
  std::string text() const;  // "[0, 1)", "> 0", "≥ 1"
};

class Fields {
 public:
  virtual ~Fields() = default;
  virtual void section(const char* name) = 0;  // "" for the top level
  virtual void key(const char* name, std::string& v, const char* help, const std::vector<std::string>& choices = {}) = 0;
  virtual void key(const char* name, double& v, const char* help, Bounds b) = 0;
  virtual void key(const char* name, int64_t& v, const char* help, Bounds b) = 0;
  virtual void key(const char* name, bool& v, const char* help) = 0;
  virtual void key(const char* name, std::vector<double>& v, const char* help, Bounds each) = 0;
  virtual void key(const char* name, std::vector<std::string>& v, const char* help) = 0;
  // Unsigned integers (seeds), through the int64 declaration.
  void key(const char* name, uint64_t& v, const char* help, Bounds b) {
    int64_t x = static_cast<int64_t>(v);
    key(name, x, help, b);
    v = static_cast<uint64_t>(x);
  }
};

// Throws kiln::Error ("optimizer.momentum: 1.5 is outside the allowed range (must be [0, 1))")
// for the first value that its declaration does not allow: for configurations built in code,
// which no file reader has checked.
template <class Section>
void check_fields(Section& s);

// The checker behind check_fields (config/fields.cpp).
class FieldChecker : public Fields {
 public:
  void section(const char* name) override { section_ = name; }
  void key(const char* name, std::string& v, const char* help, const std::vector<std::string>& choices) override;
  void key(const char* name, double& v, const char* help, Bounds b) override;
  void key(const char* name, int64_t& v, const char* help, Bounds b) override;
  void key(const char*, bool&, const char*) override {}
  void key(const char* name, std::vector<double>& v, const char* help, Bounds each) override;
  void key(const char*, std::vector<std::string>&, const char*) override {}

 private:
  std::string where(const char* name) const { return section_.empty() ? name : section_ + "." + name; }
  std::string section_;
};

template <class Section>
void check_fields(Section& s) {
  FieldChecker c;
  s.fields(c);
}

// The message for a number outside its bounds: "1.5 is outside [0, 1)".
std::string out_of_bounds(double v, const Bounds& b);

}  // namespace kiln
