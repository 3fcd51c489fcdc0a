#include "config/fields.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tensor/check.h"
#include "tensor/suggest.h"

namespace kiln {

namespace {

constexpr double kHuge = 1.7976931348623157e308;

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}

}  // namespace

bool Bounds::contains(double v) const {
  if (!std::isfinite(v)) return false;
  return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
}

std::string Bounds::text() const {
  if (hi >= kHuge) return lo <= -kHuge ? "finite" : (lo_open ? "> " : "≥ ") + num(lo);
  if (lo <= -kHuge) return (hi_open ? "< " : "≤ ") + num(hi);
  return std::string(lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + (hi_open ? ")" : "]");
}

std::string out_of_bounds(double v, const Bounds& b) {
  if (!std::isfinite(v)) return std::string(std::isnan(v) ? "NaN" : "an infinite value") + " is not allowed (must be " + b.text() + ")";
  return num(v) + " is outside the allowed range (must be " + b.text() + ")";
}

void FieldChecker::key(const char* name, std::string& v, const char*, const std::vector<std::string>& choices) {
  if (choices.empty() || std::find(choices.begin(), choices.end(), v) != choices.end()) return;
  throw Error(where(name) + ": '" + v + "' is not one of " + join_or(choices) + did_you_mean(v, choices));
}

void FieldChecker::key(const char* name, double& v, const char*, Bounds b) {
  if (!b.contains(v)) throw Error(where(name) + ": " + out_of_bounds(v, b));
}

void FieldChecker::key(const char* name, int64_t& v, const char*, Bounds b) {
  if (!b.contains(static_cast<double>(v))) throw Error(where(name) + ": " + out_of_bounds(static_cast<double>(v), b));
}

void FieldChecker::key(const char* name, std::vector<double>& v, const char*, Bounds each) {
  for (double x : v)
    if (!each.contains(x)) throw Error(where(name) + ": " + out_of_bounds(x, each));
}

}  // namespace kiln
