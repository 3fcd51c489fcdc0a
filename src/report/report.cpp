// write_report: the run report. Each section is a function of ReportData that returns its
// HTML (and writes its figures' PNG copies); write_report strings them together.
#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "report/chart.h"
#include "report/dynamics.h"
#include "report/figures.h"
#include "report/html.h"
#include "report/report_html.h"
#include "report/text.h"
#include "tensor/binio.h"

namespace kiln {

namespace {

using namespace report;

constexpr int64_t kMaxFilterTiles = 64;

std::string section(const std::string& id, const std::string& heading, const std::string& body) {
  return "<section id=\"" + id + "\">\n<h2>" + escape(heading) + "</h2>\n" + body + "</section>\n";
}

std::string explain(const std::string& text) { return "<p class=\"explain\">" + escape(text) + "</p>\n"; }

std::string lookup(const KeyValues& kv, const std::string& key) {
  for (const auto& [k, v] : kv)
    if (k == key) return v;
  return "";
}

bool any_finite(const std::vector<EpochRow>& rows, double EpochRow::*field) {
  return std::any_of(rows.begin(), rows.end(), [&](const EpochRow& r) { return std::isfinite(r.*field); });
}

std::string lr_text(double lr) {
  if (!std::isfinite(lr)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", lr);
  return buf;
}

// The per-epoch series of one metric, and its per-batch curve, on a shared epoch axis: epoch
// rows sit at x = epoch (the end of that epoch), batch points at their fractional epoch.
Chart curve_chart(const ReportData& d, const std::string& title, const std::string& y_label, double EpochRow::*train,
                  double EpochRow::*test, double EpochRow::*val, double BatchRow::*batch, bool percent) {
  Chart c;
  c.title = title, c.x_label = "epoch", c.y_label = y_label, c.y_percent = percent, c.x_integer = true, c.x_min = 0;
  if (!d.batches.empty() && batch) {
    const std::string every = lookup(d.hyperparams, "train.log_every");
    Series b{.name = "train, every " + (every.empty() ? std::string("few") : every) + " batches", .colour = palette(5), .width = 1.5};
    for (const auto& r : d.batches) b.x.push_back(r.epoch), b.y.push_back(r.*batch);
    c.series.push_back(b);
  }
  auto epoch_series = [&](const std::string& name, double EpochRow::*f, Rgb colour, bool dashed) {
    Series s{.name = name, .colour = colour, .width = 2.5, .dashed = dashed, .markers = true};
    for (const auto& r : d.epochs) s.x.push_back(static_cast<double>(r.epoch)), s.y.push_back(r.*f);
    c.series.push_back(s);
  };
  if (train) epoch_series("train (epoch mean)", train, palette(0), false);
  epoch_series("test", test, palette(1), false);
  if (any_finite(d.epochs, val)) epoch_series("validation", val, palette(2), true);
  return c;
}

// A regression's errors in the target's units: 4 significant digits.
std::string general(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string summary_html(const ReportData& d) {
  std::string h = "<dl class=\"summary\">\n";
  auto item = [&h](const std::string& k, const std::string& v) {
    h += "<div><dt>" + escape(k) + "</dt><dd>" + escape(v) + "</dd></div>\n";
  };
  if (!d.epochs.empty() && d.regression) {
    const EpochRow& last = d.epochs.back();
    const EpochRow* best = &d.epochs.front();
    double seconds = 0;
    for (const auto& r : d.epochs) {
      if (std::isfinite(r.test_rmse) && (!std::isfinite(best->test_rmse) || r.test_rmse < best->test_rmse)) best = &r;
      if (std::isfinite(r.seconds)) seconds += r.seconds;
    }
    item("final test RMSE (" + d.target + ")", general(last.test_rmse));
    item("final test MAE", general(last.test_mae));
    item("final test loss", fixed(last.test_loss, 4));
    item("best test RMSE (epoch " + std::to_string(best->epoch) + ")", general(best->test_rmse));
    item("epochs", std::to_string(last.epoch));
    item("training time", duration(seconds));
  } else if (!d.epochs.empty()) {
    const EpochRow& last = d.epochs.back();
    const EpochRow* best = &d.epochs.front();
    double seconds = 0;
    for (const auto& r : d.epochs) {
      if (std::isfinite(r.test_acc) && (!std::isfinite(best->test_acc) || r.test_acc > best->test_acc)) best = &r;
      if (std::isfinite(r.seconds)) seconds += r.seconds;
    }
    item("final test accuracy", percent(last.test_acc));
    item("final test loss", fixed(last.test_loss, 4));
    item("best test accuracy (epoch " + std::to_string(best->epoch) + ")", percent(best->test_acc));
    item("epochs", std::to_string(last.epoch));
    item("training time", duration(seconds));
  } else {
    item("epochs", "none finished yet");
  }
  item("parameters", thousands(d.total_params));
  if (d.confusion.total() > 0) item("test samples", thousands(d.confusion.total()));
  return h + "</dl>\n";
}

// A regression's curves: the loss on the standardised target, then RMSE and MAE in its units.
std::string regression_curves(const ReportData& d, const std::string& dir) {
  std::string h = explain(
      "The loss is the mean of ½(prediction - target)² on the standardised target (the target minus its training mean, "
      "over its standard deviation). RMSE and MAE are in the target's own units: test and validation ones measured after "
      "each epoch, the training RMSE from the epoch's mean loss (std · sqrt(2 · loss)), while the weights were changing. "
      "A test RMSE that climbs while the training RMSE keeps falling is the sign of overfitting.");
  h += figure_html(dir, "loss", chart_scene(curve_chart(d, "Loss", "MSE loss (standardised target)", &EpochRow::train_loss,
                                                        &EpochRow::test_loss, &EpochRow::val_loss, &BatchRow::loss, false)),
                   "Loss per epoch (dots) and along training (thin line).");
  h += figure_html(dir, "rmse", chart_scene(curve_chart(d, "RMSE", "RMSE of " + d.target, &EpochRow::train_rmse, &EpochRow::test_rmse,
                                                        &EpochRow::val_rmse, nullptr, false)),
                   "Root-mean-square error per epoch, in the target's units.");
  h += figure_html(dir, "mae", chart_scene(curve_chart(d, "MAE", "MAE of " + d.target, nullptr, &EpochRow::test_mae,
                                                       &EpochRow::val_mae, nullptr, false)),
                   "Mean absolute error per epoch, in the target's units.");
  return h;
}

std::string curves_section(const ReportData& d, const std::string& dir) {
  std::string h;
  if (d.epochs.empty() && d.batches.empty()) h += no_data_html("No data yet: no epoch has finished and no batch was logged.");
  if (d.regression) {
    h += regression_curves(d, dir);
  } else {
    h += explain(
        "Train loss and accuracy are means over each epoch's batches, measured while the weights were still changing "
        "(and with dropout or augmentation on); test numbers are measured after each epoch. The thin line follows training "
        "within epochs. A test loss that climbs while the train loss keeps falling is the classic sign of overfitting.");
    h += figure_html(dir, "loss", chart_scene(curve_chart(d, "Loss", "cross-entropy loss", &EpochRow::train_loss, &EpochRow::test_loss,
                                                          &EpochRow::val_loss, &BatchRow::loss, false)),
                     "Loss per epoch (dots) and along training (thin line).");
    h += figure_html(dir, "accuracy", chart_scene(curve_chart(d, "Accuracy", "accuracy", &EpochRow::train_acc, &EpochRow::test_acc,
                                                              &EpochRow::val_acc, &BatchRow::acc, true)),
                     "Classification accuracy per epoch (dots) and along training (thin line).");
  }
  Chart lr;
  lr.title = "Learning rate", lr.x_label = "epoch", lr.y_label = "learning rate", lr.x_integer = true, lr.x_min = 0, lr.y_min = 0;
  if (!d.batches.empty()) {
    Series s{.name = "learning rate (logged batches)", .colour = palette(0)};
    for (const auto& r : d.batches) s.x.push_back(r.epoch), s.y.push_back(r.lr);
    lr.series.push_back(s);
  } else {
    Series s{.name = "learning rate (end of epoch)", .colour = palette(0), .markers = true};
    for (const auto& r : d.epochs) s.x.push_back(static_cast<double>(r.epoch)), s.y.push_back(r.lr);
    lr.series.push_back(s);
  }
  h += figure_html(dir, "lr", chart_scene(lr), "The learning rate the optimizer used, as set by the schedule.");
  return section("curves", "Training curves", h);
}

constexpr int kMaxHistogramLayers = 6;

std::string dynamics_section(const ReportData& d, const std::string& dir) {
  std::string h = explain(
      "How each layer learned. The gradient norm is the size of the step the loss asks of the layer's parameters: "
      "norms that shrink to nothing in the first layers mean they have stopped learning (vanishing gradients), spikes "
      "mean unstable steps (a lower learning rate or train.clip_grad_norm helps). The histograms show where the weights "
      "went: a layer whose histogram did not move learned little; one that spread far may need weight decay.");
  h += figure_html(dir, "gradnorms", chart_scene(grad_norm_chart(d)),
                   "log10 of each layer's gradient norm at the logged batches (gradnorms.csv).");
  std::string note;
  const Chart hist = histogram_chart(d, kMaxHistogramLayers, &note);
  h += figure_html(dir, "histograms", chart_scene(hist), escape("Weight histograms: " + note + "."));
  return section("dynamics", "Gradients and weights", h);
}

// A column of the per-epoch table: its heading and how one epoch shows in it.
struct EpochColumn {
  const char* heading;
  std::string (*text)(const EpochRow&);
};

// The per-epoch table: one row per finished epoch in the given columns; the row whose
// `best_by` is lowest (lowest_best) or highest is highlighted, and `best_means` says which.
std::string epoch_table(const ReportData& d, const std::vector<EpochColumn>& columns, double EpochRow::*best_by,
                        bool lowest_best, const std::string& best_means) {
  HtmlTable t;
  t.id = "epoch-table";
  for (const EpochColumn& c : columns) t.header.push_back(c.heading);
  t.numeric.assign(t.header.size(), true);
  // !(a >= b) rather than a < b: a finite value replaces a NaN first row.
  const auto better = [&](double a, double b) { return lowest_best ? !(a >= b) : !(a <= b); };
  size_t best = 0;
  for (size_t i = 0; i < d.epochs.size(); ++i)
    if (std::isfinite(d.epochs[i].*best_by) && better(d.epochs[i].*best_by, d.epochs[best].*best_by)) best = i;
  for (size_t i = 0; i < d.epochs.size(); ++i) {
    std::vector<std::string> row;
    for (const EpochColumn& c : columns) row.push_back(c.text(d.epochs[i]));
    t.rows.push_back(std::move(row));
    t.row_classes.push_back(i == best ? "best" : "");
  }
  return section("epochs", "Per-epoch metrics",
                 explain("One row per finished epoch; the highlighted row has the " + best_means + ".") +
                     "<div class=\"scroll\">" + to_html(t) + "</div>\n");
}

std::string epochs_section(const ReportData& d) {
  if (d.epochs.empty()) return section("epochs", "Per-epoch metrics", no_data_html("No data: no epoch has finished yet."));
  using R = const EpochRow&;
  std::vector<EpochColumn> c = {{"epoch", [](R r) { return std::to_string(r.epoch); }},
                                {"train loss", [](R r) { return fixed(r.train_loss, 4); }}};
  const auto add = [&](std::initializer_list<EpochColumn> more) { c.insert(c.end(), more); };
  if (d.regression) {
    add({{"train RMSE", [](R r) { return general(r.train_rmse); }},
         {"test loss", [](R r) { return fixed(r.test_loss, 4); }},
         {"test RMSE", [](R r) { return general(r.test_rmse); }},
         {"test MAE", [](R r) { return general(r.test_mae); }}});
    if (any_finite(d.epochs, &EpochRow::val_loss))
      add({{"val loss", [](R r) { return fixed(r.val_loss, 4); }},
           {"val RMSE", [](R r) { return general(r.val_rmse); }},
           {"val MAE", [](R r) { return general(r.val_mae); }}});
  } else {
    add({{"train acc", [](R r) { return percent(r.train_acc); }},
         {"test loss", [](R r) { return fixed(r.test_loss, 4); }},
         {"test acc", [](R r) { return percent(r.test_acc); }}});
    if (any_finite(d.epochs, &EpochRow::val_loss) || any_finite(d.epochs, &EpochRow::val_acc))
      add({{"val loss", [](R r) { return fixed(r.val_loss, 4); }}, {"val acc", [](R r) { return percent(r.val_acc); }}});
  }
  add({{"learning rate", [](R r) { return lr_text(r.lr); }}, {"time", [](R r) { return duration(r.seconds); }}});
  return d.regression ? epoch_table(d, c, &EpochRow::test_rmse, true, "lowest test RMSE")
                      : epoch_table(d, c, &EpochRow::test_acc, false, "best test accuracy");
}

std::string confusion_section(const ReportData& d, const std::string& dir) {
  std::string h = explain(
      "Each row is a true class and each column the class the model predicted; the diagonal holds the correct answers. "
      "Bright cells off the diagonal are the pairs of classes the model confuses.");
  if (d.confusion.classes() == 0 || d.confusion.total() == 0) h += no_data_html("No data: the model was not evaluated on a test set.");
  h += figure_html(dir, "confusion", confusion_scene(d.confusion, d.class_names),
                   "Counts of test samples by true and predicted class; colour is the share of the row (hover a cell for details).");
  return section("confusion", "Confusion matrix", h);
}

std::string per_class_section(const ReportData& d) {
  const ConfusionMatrix& cm = d.confusion;
  if (cm.classes() == 0 || cm.total() == 0) return section("per-class", "Per-class metrics", no_data_html("No data: no test evaluation."));
  HtmlTable t;
  t.id = "per-class-table";
  t.header = {"class", "precision", "recall", "F1", "support"};
  t.numeric = {false, true, true, true, true};
  for (int k = 0; k < cm.classes(); ++k) {
    const ClassStats s = cm.stats(k);
    t.rows.push_back({class_name(d.class_names, k), fixed(s.precision, 4), fixed(s.recall, 4), fixed(s.f1, 4), std::to_string(s.support)});
    t.row_classes.push_back("");
  }
  const ClassStats m = cm.macro_average(), w = cm.weighted_average();
  t.rows.push_back({"accuracy", "", "", fixed(cm.accuracy(), 4), std::to_string(cm.total())});
  t.rows.push_back({"macro average", fixed(m.precision, 4), fixed(m.recall, 4), fixed(m.f1, 4), std::to_string(m.support)});
  t.rows.push_back({"weighted average", fixed(w.precision, 4), fixed(w.recall, 4), fixed(w.f1, 4), std::to_string(w.support)});
  t.row_classes.insert(t.row_classes.end(), {"first-avg", "", ""});
  return section("per-class", "Per-class metrics",
                 explain("Precision: of the samples predicted as this class, the share that are. Recall: of the samples of this "
                         "class, the share found. F1: their harmonic mean. Support: test samples of the class. A class never "
                         "predicted gets precision 0. The macro average weighs every class equally, the weighted average by support.") +
                     "<div class=\"scroll\">" + to_html(t) + "</div>\n");
}

std::string filters_section(const ReportData& d, const std::string& dir) {
  std::string note;
  Scene s = filters_scene(d.first_weights, d.first_weights_shape, d.input_shape, kMaxFilterTiles, &note);
  std::string h = explain(
      "What the first layer looks for: each tile is one output unit's weights over its input patch (a convolution filter, "
      "or a dense unit's weights over the whole image), with mid grey for 0, light for positive and dark for negative "
      "weights. Trained filters usually show edges, blobs and colour contrasts; noise means little was learned.");
  if (d.first_weights.empty()) h += no_data_html("No data: " + note + ".");
  h += figure_html(dir, "filters", s, escape(note) + ".");
  return section("filters", "First-layer filters", h);
}

std::string examples_section(const ReportData& d, const std::string& dir, bool mistakes) {
  const auto& ex = mistakes ? d.mistakes : d.correct;
  std::vector<ImageExample> sorted = ex;
  // Correct examples grouped by class; mistakes keep their order (most confident first).
  if (!mistakes) std::stable_sort(sorted.begin(), sorted.end(), [](const ImageExample& a, const ImageExample& b) { return a.label < b.label; });
  const std::string title = mistakes ? "Misclassified test images, most confident first" : "Correctly classified test images";
  std::string h = explain(mistakes ? "Test images the model got wrong, the ones it was most sure about first: under each, "
                                     "the true class, the predicted class (red) and the probability the model gave it. "
                                     "Confident mistakes often reveal ambiguous or mislabelled samples."
                                   : "A few test images of each class that the model got right, with the probability it gave.");
  if (ex.empty()) h += no_data_html(mistakes ? "No mistakes to show." : "No correctly classified examples to show.");
  h += figure_html(dir, mistakes ? "mistakes" : "correct", examples_scene(title, sorted, d.class_names, mistakes),
                   std::to_string(ex.size()) + (mistakes ? " misclassified" : " correctly classified") + " test images.");
  return section(mistakes ? "mistakes" : "correct", mistakes ? "Mistakes" : "Correct examples", h);
}

std::string model_section(const ReportData& d) {
  if (d.layers.empty()) return section("model", "Model", no_data_html("No data: no layer table."));
  HtmlTable t;
  t.id = "model-table";
  t.header = {"#", "layer", "output shape", "parameters", "FLOPs"};
  t.numeric = {true, false, false, true, true};
  for (size_t i = 0; i < d.layers.size(); ++i) {
    const LayerRow& l = d.layers[i];
    // Layers inside blocks are indented, two spaces a level (the cell keeps white space).
    t.rows.push_back({std::to_string(i), std::string(static_cast<size_t>(std::max(0, l.depth)) * 2, ' ') + l.spec, l.output,
                      thousands(l.params), thousands(l.flops)});
    t.row_classes.push_back("");
  }
  t.rows.push_back({"", "total", "", thousands(d.total_params), thousands(d.total_flops)});
  t.row_classes.push_back("total");
  t.column_classes = {"", "layer"};  // monospaced, white space kept for the indentation
  const std::string table = to_html(t);
  char bytes[64];
  std::snprintf(bytes, sizeof bytes, "%.1f", static_cast<double>(d.total_params) * 4 / 1024);
  return section("model", "Model",
                 explain(thousands(d.total_params) + " parameters (" + bytes + " KiB as float32), " + si(static_cast<double>(d.total_flops)) +
                         " FLOPs per sample for a forward pass (a multiply-add counts as 2).") +
                     "<div class=\"scroll\">" + table + "</div>\n");
}

std::string key_value_section(const std::string& id, const std::string& heading, const KeyValues& kv, const std::string& what) {
  if (kv.empty()) return section(id, heading, no_data_html("No data: no " + what + " recorded."));
  HtmlTable t;
  t.css_class = "kv";
  t.header = {"key", "value"};
  for (const auto& [k, v] : kv) t.rows.push_back({k, v});
  return section(id, heading, "<div class=\"scroll\">" + to_html(t) + "</div>\n");
}

}  // namespace

std::string write_report(const ReportData& d, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir) / "figures", ec);
  if (ec) throw Error("report: cannot create " + dir + "/figures: " + ec.message());
  const std::string title = d.title.empty() ? "kiln run" : d.title;

  std::string h = page_head(title + " \u00b7 kiln report");
  h += "<header>\n<h1>" + escape(title) + "</h1>\n<p class=\"sub\">kiln training report</p>\n" + summary_html(d) + "</header>\n";
  h += "<nav>";
  const std::pair<const char*, const char*> toc[] = {
      {"curves", "Curves"},         {"dynamics", "Gradients"},      {"epochs", "Epochs"},           {"confusion", "Confusion"}, {"per-class", "Per class"},
      {"filters", "Filters"},       {"mistakes", "Mistakes"},       {"correct", "Correct"},     {"model", "Model"},
      {"hyperparameters", "Hyper-parameters"}, {"manifest", "Manifest"}};
  // A regression has no classes: no confusion, per-class table or example images.
  auto classes_only = [](const std::string& id) {
    return id == "confusion" || id == "per-class" || id == "mistakes" || id == "correct";
  };
  for (const auto& [id, name] : toc)
    if (!d.regression || !classes_only(id)) h += std::string("<a href=\"#") + id + "\">" + name + "</a>";
  h += "</nav>\n<main>\n";
  h += curves_section(d, dir);
  h += dynamics_section(d, dir);
  h += epochs_section(d);
  if (!d.regression) {
    h += confusion_section(d, dir);
    h += per_class_section(d);
  }
  h += filters_section(d, dir);
  if (!d.regression) {
    h += examples_section(d, dir, true);
    h += examples_section(d, dir, false);
  }
  h += model_section(d);
  h += key_value_section("hyperparameters", "Hyper-parameters", d.hyperparams, "configuration");
  h += key_value_section("manifest", "Manifest", d.manifest, "manifest");
  h += "</main>\n" + page_tail();

  const std::string path = (std::filesystem::path(dir) / "report.html").string();
  write_file_atomic(path, h);
  return path;
}

}  // namespace kiln
