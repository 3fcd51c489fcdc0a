#pragma once
// Line charts as a small description (series, axis labels, options) turned into a Scene:
// "nice" 1-2-5 ticks, light grid lines, axis labels, and a legend below the plot that flows
// onto more rows as needed (so it never covers a curve, however many series or long names).
#include <limits>
#include <string>
#include <vector>

#include "report/scene.h"

namespace kiln::report {

// The Okabe–Ito palette: distinguishable with the common colour-vision deficiencies, and
// dark enough on white. Index i ≥ 7 cycles the colours (callers add dashes to tell them apart).
Rgb palette(int64_t i);

struct Series {
  std::string name{};
  std::vector<double> x{}, y{};  // NaN or infinite y: a gap in the line
  Rgb colour{};
  double width = 2;
  bool dashed = false;
  bool markers = false;  // a dot at each point (drawn when there are at most 60)
};

struct Chart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool y_percent = false;   // y values are fractions, shown as percentages
  bool x_integer = false;   // ticks at whole numbers only (epochs)
  double x_min = std::numeric_limits<double>::quiet_NaN();  // fixed axis ends; NaN: from the data
  double x_max = std::numeric_limits<double>::quiet_NaN();
  double y_min = std::numeric_limits<double>::quiet_NaN();
  double y_max = std::numeric_limits<double>::quiet_NaN();
  int64_t width = 760, height = 420;
};

// Tick positions covering [lo, hi]: the step is 1, 2 or 5 × 10^k, chosen so that there are
// about `target` intervals, and the ends are rounded out to multiples of the step.
struct Ticks {
  double lo = 0, hi = 1, step = 1;
  std::vector<double> values;
};
Ticks nice_ticks(double lo, double hi, int target = 5, bool integer = false);

// The tick labels for these ticks: as few decimals as the step needs. When the values are
// tiny or huge the labels are of value / 10^exponent and *exponent says which power of ten.
std::vector<std::string> tick_labels(const Ticks& ticks, int* exponent);

// The chart, or a "no data" figure when no series has a finite point.
Scene chart_scene(const Chart& chart);

}  // namespace kiln::report
