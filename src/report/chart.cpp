#include "report/chart.h"

#include <algorithm>
#include <cmath>

#include "report/text.h"

namespace kiln::report {

Rgb palette(int64_t i) {
  static const uint32_t colours[] = {0x0072B2, 0xE69F00, 0x009E73, 0xD55E00, 0xCC79A7, 0x56B4E9, 0x000000};
  const int64_t n = static_cast<int64_t>(std::size(colours));
  return rgb_hex(colours[((i % n) + n) % n]);
}

Ticks nice_ticks(double lo, double hi, int target, bool integer) {
  Ticks t;
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi == lo) {  // one value: open a window around it
    const double d = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= d, hi += d;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  double step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
  if (integer) step = std::max(step, 1.0);
  // Rounding out with a little tolerance, so that 0.30000000000000004 does not add a tick.
  t.lo = std::floor(lo / step + 1e-9) * step;
  t.hi = std::ceil(hi / step - 1e-9) * step;
  t.step = step;
  const auto n = static_cast<int64_t>(std::llround((t.hi - t.lo) / step));
  for (int64_t i = 0; i <= n; ++i) {
    double v = t.lo + static_cast<double>(i) * step;
    if (std::fabs(v) < step * 1e-9) v = 0;
    t.values.push_back(v);
  }
  return t;
}

std::vector<std::string> tick_labels(const Ticks& t, int* exponent) {
  double biggest = 0;
  for (double v : t.values) biggest = std::max(biggest, std::fabs(v));
  int e = 0;
  if (biggest > 0 && (biggest < 1e-2 || biggest >= 1e5)) e = static_cast<int>(std::floor(std::log10(biggest)));
  if (exponent) *exponent = e;
  const double unit = std::pow(10.0, e);
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(t.step / unit) + 1e-9)));
  std::vector<std::string> out;
  for (double v : t.values) out.push_back(fixed(v / unit, decimals));
  return out;
}

namespace {

constexpr int kScale = 2;                          // bitmap font scale for all chart text
constexpr double kCharH = kCapHeight * kScale;     // 14 px
const Rgb kInk{0x22, 0x22, 0x22}, kMuted{0x55, 0x55, 0x55}, kGrid{0xe4, 0xe4, 0xe4}, kFrame{0x99, 0x99, 0x99};

bool finite_point(const Series& s, size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]); }

struct LegendEntry {
  const Series* series;
  double x, y;
};

}  // namespace

Scene chart_scene(const Chart& c_in) {
  // Work in display units: percentages when asked.
  Chart c = c_in;
  for (auto& s : c.series) {
    KILN_CHECK(s.x.size() == s.y.size(), "series '" << s.name << "': " << s.x.size() << " x values, " << s.y.size() << " y values");
    if (c.y_percent)
      for (double& v : s.y) v *= 100;
  }
  std::vector<const Series*> shown;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const auto& s : c.series) {
    bool any = false;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!finite_point(s, i)) continue;
      any = true;
      xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
      ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
    }
    if (any) shown.push_back(&s);
  }
  if (shown.empty()) return no_data_scene(c.title, "no data", c.width, 160);
  const double pct = c.y_percent ? 100 : 1;
  if (std::isfinite(c.x_min)) xlo = std::min(xlo, c.x_min);
  if (std::isfinite(c.x_max)) xhi = std::max(xhi, c.x_max);
  if (std::isfinite(c.y_min)) ylo = std::min(ylo, c.y_min * pct);
  if (std::isfinite(c.y_max)) yhi = std::max(yhi, c.y_max * pct);

  const double W = static_cast<double>(c.width);

  // Legend rows, laid out first because they take space from the bottom of the plot.
  const double pad = 16, sample = 30, row_h = 22;
  std::vector<LegendEntry> legend;
  double lx = pad, rows = 1;
  for (const Series* sr : shown) {
    const std::string name = utf8_truncate(sr->name, 48);
    const double w = sample + 6 + static_cast<double>(text_width(name, kScale)) + 22;
    if (lx > pad && lx + w > W - pad) lx = pad, rows += 1;
    legend.push_back({sr, lx, rows});
    lx += w;
  }

  // Each legend row past the first makes the figure taller rather than the plot shorter.
  Scene s;
  s.width = c.width, s.height = c.height + static_cast<int64_t>(rows - 1) * static_cast<int64_t>(row_h), s.title = c.title;
  const double H = static_cast<double>(s.height);

  // Y ticks and their labels decide the left margin.
  Ticks yt = nice_ticks(ylo, yhi, 5);
  int yexp = 0;
  auto ylabels = tick_labels(yt, &yexp);
  if (c.y_percent)
    for (auto& l : ylabels) l += "%";
  int64_t label_w = 0;
  for (const auto& l : ylabels) label_w = std::max(label_w, text_width(l, kScale));
  const double left = pad + kCharH + 12 + static_cast<double>(label_w) + 8;
  const double top = 44, right = 28;
  const double bottom = 8 + kCharH + 14 + kCharH + 14 + rows * row_h + 8;
  const double px0 = left, px1 = W - right, py0 = top, py1 = H - bottom;
  KILN_CHECK(px1 > px0 + 40 && py1 > py0 + 40, "chart " << W << "x" << H << " too small for its labels");

  // X ticks: thin them until the labels have room.
  Ticks xt = nice_ticks(xlo, xhi, 6, c.x_integer);
  int xexp = 0;
  auto xlabels = tick_labels(xt, &xexp);
  for (int target = 6; target > 1; --target) {
    int64_t widest = 0;
    for (const auto& l : xlabels) widest = std::max(widest, text_width(l, kScale));
    const double spacing = (px1 - px0) / std::max<double>(1, static_cast<double>(xt.values.size()) - 1);
    if (static_cast<double>(widest) + 12 <= spacing) break;
    xt = nice_ticks(xlo, xhi, target - 1, c.x_integer);
    xlabels = tick_labels(xt, &xexp);
  }

  auto X = [&](double x) { return px0 + (x - xt.lo) / (xt.hi - xt.lo) * (px1 - px0); };
  auto Y = [&](double y) { return py1 - (y - yt.lo) / (yt.hi - yt.lo) * (py1 - py0); };

  // Grid, frame, ticks. 1-px lines sit on pixel centres (.5) to stay crisp.
  auto crisp = [](double v) { return std::floor(v) + 0.5; };
  for (size_t i = 0; i < yt.values.size(); ++i) {
    const double y = crisp(Y(yt.values[i]));
    s.line({.points = {{px0, y}, {px1, y}}, .colour = kGrid, .width = 1});
    s.text({.x = px0 - 8, .y = y, .text = ylabels[i], .colour = kMuted, .scale = kScale, .anchor = Anchor::end});
  }
  for (size_t i = 0; i < xt.values.size(); ++i) {
    const double x = crisp(X(xt.values[i]));
    s.line({.points = {{x, py0}, {x, py1}}, .colour = kGrid, .width = 1});
    s.line({.points = {{x, py1}, {x, py1 + 5}}, .colour = kFrame, .width = 1});
    s.text({.x = x, .y = py1 + 8 + kCharH / 2, .text = xlabels[i], .colour = kMuted, .scale = kScale, .anchor = Anchor::middle});
  }
  s.rect({.x = crisp(px0), .y = crisp(py0), .w = std::floor(px1) - std::floor(px0), .h = std::floor(py1) - std::floor(py0),
          .filled = false, .stroke = kFrame, .stroke_width = 1});

  // Titles and axis labels.
  auto with_exp = [](std::string label, int e) { return e == 0 ? label : label + " (\u00d71e" + std::to_string(e) + ")"; };
  s.text({.x = W / 2, .y = 20, .text = c.title, .colour = kInk, .scale = kScale, .anchor = Anchor::middle, .bold = true});
  s.text({.x = (px0 + px1) / 2, .y = py1 + 8 + kCharH + 14 + kCharH / 2, .text = with_exp(c.x_label, xexp), .colour = kInk,
          .scale = kScale, .anchor = Anchor::middle});
  s.text({.x = pad + kCharH / 2, .y = (py0 + py1) / 2, .text = with_exp(c.y_label, yexp), .colour = kInk, .scale = kScale,
          .anchor = Anchor::middle, .vertical = true});

  // The series, in order (later ones on top), each split at its gaps.
  for (const Series* sr : shown) {
    std::vector<Point> run, all;
    auto flush = [&] {
      if (run.size() == 1 && !sr->markers) s.circle({.cx = run[0].first, .cy = run[0].second, .r = sr->width + 1, .fill = sr->colour});
      if (!run.empty())
        s.line({.points = run, .colour = sr->colour, .width = sr->width, .dash = sr->dashed ? 7.0 : 0.0, .gap = sr->dashed ? 5.0 : 0.0});
      run.clear();
    };
    for (size_t i = 0; i < sr->x.size(); ++i) {
      if (!finite_point(*sr, i)) {
        flush();
        continue;
      }
      run.emplace_back(X(sr->x[i]), Y(sr->y[i]));
      all.push_back(run.back());
    }
    flush();
    if (sr->markers && all.size() <= 60)
      for (const auto& p : all) s.circle({.cx = p.first, .cy = p.second, .r = 3.5, .fill = sr->colour});
  }

  // Legend.
  const double ly0 = H - 8 - rows * row_h;
  for (const auto& e : legend) {
    const double y = ly0 + (e.y - 0.5) * row_h;
    const Series& sr = *e.series;
    s.line({.points = {{e.x, y}, {e.x + sample, y}}, .colour = sr.colour, .width = sr.width, .dash = sr.dashed ? 7.0 : 0.0,
            .gap = sr.dashed ? 5.0 : 0.0});
    if (sr.markers) s.circle({.cx = e.x + sample / 2, .cy = y, .r = 3.5, .fill = sr.colour});
    s.text({.x = e.x + sample + 6, .y = y, .text = utf8_truncate(sr.name, 48), .colour = kInk, .scale = kScale,
            .tooltip = sr.name});
  }
  return s;
}

}  // namespace kiln::report
