#pragma once
// The report's view of how training moved the weights: each layer's gradient norm along
// training, and each layer's weight histogram after the first and the last epoch.
#include "report/chart.h"
#include "report/report.h"

namespace kiln::report {

// log10 ‖dL/dθ‖ per layer against the fractional epoch (norms span decades between layers,
// and a linear axis would flatten all but the largest). Zero or missing norms are gaps.
Chart grad_norm_chart(const ReportData& d);

// The share of each layer's weights per bin, against the weight value: the first epoch's
// histogram dashed, the last one's solid, in the layer's colour; at most max_layers layers
// (the first ones), *note says how many are shown.
Chart histogram_chart(const ReportData& d, int max_layers, std::string* note);

}  // namespace kiln::report
