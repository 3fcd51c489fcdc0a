// write_sweep: the comparison of a sweep's variants, as Markdown (printed and pasted into
// notes), CSV (for a spreadsheet) and HTML (table plus overlaid curves).
#include "report/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "report/chart.h"
#include "report/html.h"
#include "report/report_html.h"
#include "report/text.h"
#include "tensor/binio.h"

namespace kiln {

namespace {

using namespace report;

// The table's columns, filled once and written in three formats. `csv` keeps full precision;
// `text` is what people read.
struct Column {
  std::string name;
  bool numeric;
};
struct Cell {
  std::string text, csv;
};

// What a variant is ranked by, higher better: the final validation accuracy, or for a
// regression minus the final validation RMSE (lower RMSE is better). NaN: not ranked.
double score(const SweepRow& r, bool regression) { return regression ? -r.final_val_rmse : r.final_val_acc; }

// Best first by score; variants without one (no split, or no finished epoch) keep their order
// after the ranked ones.
std::vector<const SweepRow*> ranked(const std::vector<SweepRow>& rows, bool regression) {
  std::vector<const SweepRow*> out;
  for (const auto& r : rows) out.push_back(&r);
  std::stable_sort(out.begin(), out.end(), [regression](const SweepRow* a, const SweepRow* b) {
    const double sa = score(*a, regression), sb = score(*b, regression);
    const bool fa = std::isfinite(sa), fb = std::isfinite(sb);
    if (fa != fb) return fa;
    return fa && sa > sb;
  });
  return out;
}

// An error in the target's units: 4 significant digits.
std::string significant(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// RFC 4180: quote a field holding a comma, quote or line break; double the quotes inside.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

// A Markdown table cell: '|' would end the cell and a newline the row.
std::string md_cell(const std::string& s) {
  std::string o;
  for (char c : s) o += c == '|' ? std::string("\\|") : c == '\n' || c == '\r' ? std::string(" ") : std::string(1, c);
  return o;
}

}  // namespace

std::string write_sweep(const std::vector<SweepRow>& rows, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir) / "figures", ec);
  if (ec) throw Error("sweep: cannot create " + dir + "/figures: " + ec.message());

  std::set<std::string> keys;
  for (const auto& r : rows)
    for (const auto& [k, v] : r.values) keys.insert(k);
  std::vector<Column> cols = {{"rank", true}, {"variant", false}};
  for (const auto& k : keys) cols.push_back({k, false});
  cols.push_back({"settings", false});
  // A sweep of regressions (every variant one) compares RMSE and MAE, ranked lowest first.
  const bool regression =
      !rows.empty() && std::all_of(rows.begin(), rows.end(), [](const SweepRow& r) { return r.regression; });
  if (regression)
    for (const char* c : {"final val rmse", "best val rmse", "final train loss", "final train rmse", "final test loss",
                          "final test rmse", "final test mae", "best test rmse", "parameters", "time"})
      cols.push_back({c, true});
  else
    for (const char* c : {"final val acc", "best val acc", "final train loss", "final train acc", "final test loss",
                          "final test acc", "best test loss", "best test acc", "parameters", "time"})
      cols.push_back({c, true});
  const size_t fixed_cols = 3 + keys.size();  // rank, variant, the keys, settings: text

  const auto order = ranked(rows, regression);
  std::vector<std::vector<Cell>> table;
  for (size_t i = 0; i < order.size(); ++i) {
    const SweepRow& r = *order[i];
    const bool scored = std::isfinite(score(r, regression));
    const std::string rank = scored ? std::to_string(i + 1) : "\u2014";
    std::vector<Cell> row = {{rank, scored ? rank : ""}, {r.name, r.name}};
    for (const auto& k : keys) {
      auto it = r.values.find(k);
      const std::string v = it == r.values.end() ? "" : it->second;
      row.push_back({v, v});
    }
    row.push_back({r.settings, r.settings});
    auto loss = [](double v) { return Cell{fixed(v, 4, "\u2014"), csv_number(v)}; };
    auto acc = [](double v) { return Cell{percent(v, 2, "\u2014"), csv_number(v)}; };
    auto err = [](double v) { return Cell{std::isfinite(v) ? significant(v) : "\u2014", csv_number(v)}; };
    if (regression)
      row.insert(row.end(), {err(r.final_val_rmse), err(r.best_val_rmse), loss(r.final_train_loss), err(r.final_train_rmse),
                             loss(r.final_test_loss), err(r.final_test_rmse), err(r.final_test_mae), err(r.best_test_rmse),
                             {thousands(r.params), std::to_string(r.params)}, {duration(r.seconds, "\u2014"), csv_number(r.seconds)}});
    else
      row.insert(row.end(), {acc(r.final_val_acc), acc(r.best_val_acc), loss(r.final_train_loss), acc(r.final_train_acc), loss(r.final_test_loss), acc(r.final_test_acc),
                             loss(r.best_test_loss), acc(r.best_test_acc), {thousands(r.params), std::to_string(r.params)},
                             {duration(r.seconds, "\u2014"), csv_number(r.seconds)}});
    table.push_back(row);
  }

  // Markdown.
  std::string md = "|";
  for (const auto& c : cols) md += " " + md_cell(c.name) + " |";
  md += "\n|";
  for (const auto& c : cols) md += c.numeric ? " ---: |" : " --- |";
  md += "\n";
  for (const auto& row : table) {
    md += "|";
    for (const auto& cell : row) md += " " + md_cell(cell.text) + " |";
    md += "\n";
  }
  if (table.empty()) md += "\n(no variants)\n";
  write_file_atomic((std::filesystem::path(dir) / "comparison.md").string(), md);

  // CSV: machine-readable names and full-precision numbers.
  std::string csv;
  for (size_t i = 0; i < cols.size(); ++i) {
    std::string name = cols[i].name;
    if (i >= fixed_cols) std::replace(name.begin(), name.end(), ' ', '_');
    csv += (i ? "," : "") + csv_field(name == "time" ? "seconds" : name);
  }
  csv += "\n";
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) csv += (i ? "," : "") + csv_field(row[i].csv);
    csv += "\n";
  }
  write_file_atomic((std::filesystem::path(dir) / "comparison.csv").string(), csv);

  // HTML: the table and the overlaid test curves.
  const std::string name = std::filesystem::path(dir).filename().string();
  const std::string title = "Sweep comparison" + (name.empty() ? "" : ": " + name);
  HtmlTable t;
  t.id = "comparison-table";
  for (const auto& c : cols) t.header.push_back(c.name), t.numeric.push_back(c.numeric);
  for (size_t i = 0; i < table.size(); ++i) {
    std::vector<std::string> cells;
    for (const auto& c : table[i]) cells.push_back(c.text);
    t.rows.push_back(cells);
    t.links.push_back({"", order[i]->report});  // the variant's name links its report
  }
  Chart acc, loss;
  if (regression) acc.title = "Test RMSE of each variant", acc.y_label = "test RMSE";
  else acc.title = "Test accuracy of each variant", acc.y_label = "test accuracy", acc.y_percent = true;
  loss.title = "Test loss of each variant", loss.y_label = "test loss";
  for (Chart* c : {&acc, &loss}) c->x_label = "epoch", c->x_integer = true, c->x_min = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const SweepRow& r = *order[i];
    // Seven colours; past them the line is dashed, so that every variant stays distinct.
    Series a{.name = r.name, .colour = palette(static_cast<int64_t>(i)), .width = 2, .dashed = i >= 7, .markers = true};
    Series l = a;
    for (const auto& e : r.epochs) {
      a.x.push_back(static_cast<double>(e.epoch)), a.y.push_back(regression ? e.test_rmse : e.test_acc);
      l.x.push_back(static_cast<double>(e.epoch)), l.y.push_back(e.test_loss);
    }
    acc.series.push_back(a), loss.series.push_back(l);
  }
  std::string h = page_head(title + " \u00b7 kiln");
  h += "<header>\n<h1>" + escape(title) + "</h1>\n<p class=\"sub\">" + std::to_string(rows.size()) +
       (regression ? " variants, ranked by final validation RMSE, lowest first" : " variants, ranked by final validation accuracy") +
       " (never the test set; variants without a validation split"
       " are not ranked: set data.validation). Each variant's name links its own report.</p>\n</header>\n<main>\n";
  h += "<section id=\"comparison\">\n<h2>Variants</h2>\n";
  h += table.empty() ? no_data_html("No data: the sweep has no variants.") : "<div class=\"scroll\">" + to_html(t) + "</div>\n";
  h += "</section>\n<section id=\"sweep-curves\">\n<h2>Curves</h2>\n";
  if (regression) h += figure_html(dir, "test_rmse", chart_scene(acc), "Test RMSE after each epoch, one line per variant.");
  else h += figure_html(dir, "test_accuracy", chart_scene(acc), "Test accuracy after each epoch, one line per variant.");
  h += figure_html(dir, "test_loss", chart_scene(loss), "Test loss after each epoch, one line per variant.");
  h += "</section>\n</main>\n" + page_tail();
  write_file_atomic((std::filesystem::path(dir) / "comparison.html").string(), h);
  return md;
}

}  // namespace kiln
