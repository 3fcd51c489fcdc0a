#include "report/dynamics.h"

#include <algorithm>
#include <cmath>

namespace kiln::report {

Chart grad_norm_chart(const ReportData& d) {
  Chart c;
  c.title = "Gradient norm per layer", c.x_label = "epoch", c.y_label = "log10 of the gradient norm";
  c.x_integer = true, c.x_min = 0;
  for (size_t l = 0; l < d.grad_norm_layers.size(); ++l) {
    Series s{.name = d.grad_norm_layers[l], .colour = palette(static_cast<int64_t>(l)), .width = 1.5,
             .dashed = l >= 7};  // the palette cycles after 7: dashes tell those apart
    for (const auto& r : d.grad_norms) {
      const double n = l < r.norms.size() ? r.norms[l] : NAN;
      s.x.push_back(r.epoch);
      s.y.push_back(n > 0 ? std::log10(n) : NAN);
    }
    c.series.push_back(std::move(s));
  }
  return c;
}

namespace {

// The histogram as a curve through the bin centres, each count as a share of the layer's weights.
Series histogram_series(const WeightHistogram& h, const std::string& name, Rgb colour, bool dashed) {
  Series s{.name = name, .colour = colour, .width = dashed ? 1.5 : 2.5, .dashed = dashed};
  int64_t total = 0;
  for (int64_t n : h.counts) total += n;
  const size_t bins = h.counts.size();
  for (size_t b = 0; b < bins && total > 0; ++b) {
    s.x.push_back(h.lo + (h.hi - h.lo) * (static_cast<double>(b) + 0.5) / static_cast<double>(bins));
    s.y.push_back(static_cast<double>(h.counts[b]) / static_cast<double>(total));
  }
  return s;
}

}  // namespace

Chart histogram_chart(const ReportData& d, int max_layers, std::string* note) {
  Chart c;
  c.title = "Weight histograms", c.x_label = "weight value", c.y_label = "share of the layer's weights", c.y_min = 0;
  std::vector<std::string> layers;  // in order of first appearance
  int64_t first = 0, last = 0;
  for (const auto& h : d.histograms) {
    bool seen = false;
    for (const auto& l : layers) seen = seen || l == h.layer;
    if (!seen) layers.push_back(h.layer);
    if (first == 0 || h.epoch < first) first = h.epoch;
    last = std::max(last, h.epoch);
  }
  const size_t shown = std::min(layers.size(), static_cast<size_t>(std::max(max_layers, 0)));
  for (size_t l = 0; l < shown; ++l) {
    const Rgb colour = palette(static_cast<int64_t>(l));
    for (const auto& h : d.histograms)
      if (h.layer == layers[l] && h.epoch == first && first != last)
        c.series.push_back(histogram_series(h, layers[l] + ", epoch " + std::to_string(first), colour, true));
    for (const auto& h : d.histograms)
      if (h.layer == layers[l] && h.epoch == last)
        c.series.push_back(histogram_series(h, layers[l] + ", epoch " + std::to_string(last), colour, false));
  }
  if (note) {
    if (layers.empty()) *note = "no weight histograms were recorded";
    else
      *note = std::to_string(shown) + " of " + std::to_string(layers.size()) + " layers, after epoch " +
              (first != last ? std::to_string(first) + " (dashed) and epoch " : "") + std::to_string(last) +
              (shown < layers.size() ? "; every layer and epoch is in histograms.csv" : "");
  }
  return c;
}

}  // namespace kiln::report
