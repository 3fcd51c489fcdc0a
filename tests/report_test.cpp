// The report module: metrics against hand-computed values, the PNG/base64/font/chart pieces,
// and whole reports (handcrafted, degenerate, and from a short real training run) checked by
// reading the HTML back and decoding every image in it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

#include "config/experiment.h"
#include "png_decode.h"
#include "report/base64.h"
#include "report/chart.h"
#include "report/dynamics.h"
#include "report/figures.h"
#include "report/font.h"
#include "report/html.h"
#include "report/metrics.h"
#include "report/png.h"
#include "report/report.h"
#include "report/sweep.h"
#include "report/text.h"
#include "report_fixtures.h"
#include "synthetic_idx.h"
#include "train/run_folder.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace kiln;
using kiln::testing::decode_png;
using kiln::testing::ink;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string unescape(std::string s) {
  const std::pair<const char*, const char*> entities[] = {{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities)
    for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += std::strlen(to)) s.replace(p, std::strlen(from), to);
  return s;
}

// The body rows of <table id="ID">, each as its cells' text (unescaped).
std::vector<std::vector<std::string>> table_rows(const std::string& html, const std::string& id) {
  const size_t start = html.find("<table id=\"" + id + "\"");
  if (start == std::string::npos) return {};
  const size_t body = html.find("<tbody>", start), end = html.find("</table>", start);
  const std::string t = html.substr(body, end - body);
  std::vector<std::vector<std::string>> rows;
  static const std::regex tr("<tr[^>]*>([\\s\\S]*?)</tr>"), td("<td[^>]*>([\\s\\S]*?)</td>");
  for (std::sregex_iterator r(t.begin(), t.end(), tr), e; r != e; ++r) {
    const std::string inner = (*r)[1];
    std::vector<std::string> cells;
    for (std::sregex_iterator c(inner.begin(), inner.end(), td); c != e; ++c) cells.push_back(unescape((*c)[1]));
    rows.push_back(cells);
  }
  return rows;
}

std::string base64_decode(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const int v = val(c);
    if (v < 0) break;  // '=' padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// Every data: PNG in the page: decodes, has a size, and is not one flat colour.
int64_t check_embedded_pngs(const std::string& html) {
  static const std::regex uri("data:image/png;base64,([A-Za-z0-9+/=]+)");
  int64_t n = 0;
  for (std::sregex_iterator m(html.begin(), html.end(), uri), e; m != e; ++m, ++n) {
    kiln::testing::DecodedPng png;
    try {
      png = decode_png(base64_decode((*m)[1]));
    } catch (const std::exception& ex) {
      ADD_FAILURE() << "embedded PNG #" << n << ": " << ex.what();
      continue;
    }
    EXPECT_GT(png.width, 0);
    EXPECT_GT(png.height, 0);
    EXPECT_GE(ink(png).colours, 2u) << "embedded PNG #" << n << " is one flat colour";
  }
  return n;
}

// figures/NAME.png: decodes and has ink on it.
void check_figure(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/figures/" + name + ".png";
  ASSERT_TRUE(fs::exists(path)) << path;
  kiln::testing::DecodedPng png;
  ASSERT_NO_THROW(png = decode_png(slurp(path))) << path;
  EXPECT_GE(png.width, 100) << path;
  EXPECT_GE(png.height, 50) << path;
  const auto k = ink(png);
  EXPECT_GT(k.non_white, k.pixels / 200) << path << " is (nearly) blank";
  EXPECT_GE(k.colours, 3u) << path;
}

const char* kFigures[] = {"loss", "accuracy", "lr", "gradnorms", "histograms", "confusion", "filters", "mistakes", "correct"};
const char* kSections[] = {"curves", "dynamics", "epochs", "confusion", "per-class", "filters", "mistakes", "correct", "model", "hyperparameters", "manifest"};

class Report : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("kiln-report-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" + std::to_string(::getpid())))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};
using Sweep = Report;

}  // namespace

// ---- metrics -------------------------------------------------------------------------------

// C[t][p] =  5 1 0      class 2 is never predicted: precision 0 by the zero-division rule.
//            2 3 0
//            1 1 0
TEST(Metrics, PrecisionRecallF1AgainstHandComputedValues) {
  ConfusionMatrix cm(3);
  const int64_t c[3][3] = {{5, 1, 0}, {2, 3, 0}, {1, 1, 0}};
  for (int t = 0; t < 3; ++t)
    for (int p = 0; p < 3; ++p)
      if (c[t][p]) cm.add(t, p, c[t][p]);
  EXPECT_EQ(cm.total(), 13);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 8.0 / 13);
  const ClassStats s0 = cm.stats(0), s1 = cm.stats(1), s2 = cm.stats(2);
  EXPECT_DOUBLE_EQ(s0.precision, 5.0 / 8);  // column 0 sums to 8
  EXPECT_DOUBLE_EQ(s0.recall, 5.0 / 6);     // row 0 sums to 6
  EXPECT_NEAR(s0.f1, 5.0 / 7, 1e-12);       // 2·(5/8)(5/6) / (5/8 + 5/6)
  EXPECT_EQ(s0.support, 6);
  EXPECT_DOUBLE_EQ(s1.precision, 3.0 / 5);
  EXPECT_DOUBLE_EQ(s1.recall, 3.0 / 5);
  EXPECT_NEAR(s1.f1, 3.0 / 5, 1e-12);
  EXPECT_EQ(s1.support, 5);
  EXPECT_EQ(s2.precision, 0.0);
  EXPECT_EQ(s2.recall, 0.0);
  EXPECT_EQ(s2.f1, 0.0);
  EXPECT_EQ(s2.support, 2);
  const ClassStats m = cm.macro_average(), w = cm.weighted_average();
  EXPECT_NEAR(m.precision, (5.0 / 8 + 3.0 / 5) / 3, 1e-12);
  EXPECT_NEAR(m.recall, (5.0 / 6 + 3.0 / 5) / 3, 1e-12);
  EXPECT_NEAR(m.f1, (5.0 / 7 + 3.0 / 5) / 3, 1e-12);
  EXPECT_EQ(m.support, 13);
  EXPECT_NEAR(w.precision, (6 * 5.0 / 8 + 5 * 3.0 / 5) / 13, 1e-12);
  EXPECT_NEAR(w.recall, 8.0 / 13, 1e-12);  // the weighted recall is the accuracy
  EXPECT_NEAR(w.f1, 51.0 / 91, 1e-12);     // (6·5/7 + 5·3/5) / 13
  EXPECT_EQ(w.support, 13);
}

TEST(Metrics, EmptyMatricesAreZeroNotNaN) {
  ConfusionMatrix none;
  EXPECT_EQ(none.classes(), 0);
  EXPECT_EQ(none.accuracy(), 0.0);
  EXPECT_EQ(none.macro_average().f1, 0.0);
  ConfusionMatrix cm(3);
  EXPECT_EQ(cm.total(), 0);
  EXPECT_EQ(cm.stats(1).precision, 0.0);
  EXPECT_EQ(cm.weighted_average().recall, 0.0);
  EXPECT_NO_THROW(confusion_table(none, {}));
  EXPECT_NO_THROW(classification_table(cm, {}));
}

TEST(Metrics, OutOfRangeLabelsAreAnError) {
  ConfusionMatrix cm(2);
  EXPECT_THROW(cm.add(2, 0), Error);
  EXPECT_THROW(cm.add(0, -1), Error);
  EXPECT_THROW(ConfusionMatrix(-1), Error);
}

TEST(Metrics, TextTablesAreAlignedAndNamed) {
  ConfusionMatrix cm(3);
  cm.add(0, 0, 1234);
  cm.add(1, 2, 5);
  cm.add(2, 2, 7);
  const std::vector<std::string> names = {"T-shirt/top", "Trouser", "an-extremely-long-class-name"};
  const std::string ct = confusion_table(cm, names);
  std::istringstream is(ct);
  std::string line;
  int64_t width = -1, lines = 0;
  while (std::getline(is, line)) {
    ++lines;
    if (width < 0) width = report::utf8_length(line);
    EXPECT_EQ(report::utf8_length(line), width) << "ragged line: '" << line << "'";
  }
  EXPECT_EQ(lines, 4);
  EXPECT_NE(ct.find("1234"), std::string::npos);
  EXPECT_NE(ct.find("Trouser"), std::string::npos);
  EXPECT_EQ(ct.find("an-extremely-long-class-name"), std::string::npos) << "long names are cut";
  const std::string cl = classification_table(cm, names);
  for (const char* s : {"precision", "recall", "f1-score", "support", "accuracy", "macro avg", "weighted avg", "Trouser", "0.5833"})
    EXPECT_NE(cl.find(s), std::string::npos) << s << " missing in\n" << cl;
  // Without names the class numbers stand in.
  EXPECT_NE(confusion_table(cm, {}).find("2"), std::string::npos);
}

// ---- the pieces ----------------------------------------------------------------------------

TEST(ReportPieces, Base64KnownVectors) {  // RFC 4648 section 10
  EXPECT_EQ(report::base64_encode(""), "");
  EXPECT_EQ(report::base64_encode("f"), "Zg==");
  EXPECT_EQ(report::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(report::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(report::base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(report::base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(report::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(report::base64_encode(std::string("\xff\x00\x80", 3)), "/wCA");
}

TEST(ReportPieces, PngRoundTripsThroughTheDecoder) {
  // Noise, gradients and flat areas, so that the encoder picks every filter type somewhere.
  report::Image im(37, 23);
  Rng rng(5);
  for (int64_t y = 0; y < im.height; ++y)
    for (int64_t x = 0; x < im.width; ++x) {
      const auto v = static_cast<uint8_t>(y < 8 ? rng.below(256) : y < 16 ? x * 7 + y : 200);
      im.set(x, y, {v, static_cast<uint8_t>(255 - v), static_cast<uint8_t>(x * y)});
    }
  const auto png = decode_png(report::encode_png(im));
  ASSERT_EQ(png.width, 37);
  ASSERT_EQ(png.height, 23);
  ASSERT_EQ(png.channels, 3);
  EXPECT_EQ(png.pixels, im.rgb);
}

TEST(ReportPieces, NiceTicksUseOneTwoFive) {
  auto t = report::nice_ticks(0, 0.93, 5);
  EXPECT_DOUBLE_EQ(t.step, 0.2);
  EXPECT_DOUBLE_EQ(t.lo, 0);
  EXPECT_NEAR(t.hi, 1.0, 1e-12);
  EXPECT_EQ(t.values.size(), 6u);
  t = report::nice_ticks(0.0013, 0.0487, 5);
  EXPECT_NEAR(t.step, 0.01, 1e-15);
  int e = 0;
  auto labels = report::tick_labels(t, &e);
  EXPECT_EQ(e, 0);
  EXPECT_EQ(labels.front(), "0.00");
  EXPECT_EQ(labels.back(), "0.05");
  t = report::nice_ticks(0.00013, 0.00487, 5);  // tiny values: shown as 0..5 ×1e-3
  labels = report::tick_labels(t, &e);
  EXPECT_EQ(e, -3);
  EXPECT_EQ(labels.front(), "0");
  EXPECT_EQ(labels.back(), "5");
  t = report::nice_ticks(3, 3, 5);  // one value: a window around it
  EXPECT_LT(t.lo, 3);
  EXPECT_GT(t.hi, 3);
  t = report::nice_ticks(0, 3, 6, true);  // epochs: never half an epoch
  EXPECT_DOUBLE_EQ(t.step, 1);
  for (double v : report::nice_ticks(12.5, 87.3, 5).values) EXPECT_NEAR(std::remainder(v, 20), 0, 1e-9);
}

TEST(ReportPieces, TextHelpers) {
  EXPECT_EQ(report::utf8_length("héllo"), 5);
  const std::string cut = report::utf8_truncate("ééééé", 3);
  EXPECT_EQ(cut, "éé\u2026");
  EXPECT_EQ(report::utf8_truncate("abc", 3), "abc");
  EXPECT_EQ(report::escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  EXPECT_EQ(report::thousands(1234567), "1,234,567");
  EXPECT_EQ(report::thousands(-1000), "-1,000");
  EXPECT_EQ(report::percent(0.97314), "97.31%");
  EXPECT_EQ(report::fixed(NAN, 2), "n/a");
  EXPECT_EQ(report::fixed(-0.00001, 2), "0.00");
}

TEST(ReportPieces, FontHasEveryPrintableAscii) {
  const auto& box = report::glyph(0xFFFD);
  for (char32_t c = 33; c < 127; ++c) {
    const auto& g = report::glyph(c);
    EXPECT_NE(&g, &box) << "no glyph for '" << static_cast<char>(c) << "'";
    int ink_rows = 0;
    for (uint8_t row : g) ink_rows += row != 0;
    EXPECT_GT(ink_rows, 0) << "empty glyph for '" << static_cast<char>(c) << "'";
  }
  // Drawn text lands where text_width says it does.
  report::Image im(100, 30);
  report::draw_text(im, 10, 15, "HH", {0, 0, 0}, 2, report::Anchor::start);
  int64_t x0 = 100, x1 = -1;
  for (int64_t y = 0; y < 30; ++y)
    for (int64_t x = 0; x < 100; ++x)
      if (im.at(x, y) == report::Rgb{0, 0, 0}) x0 = std::min(x0, x), x1 = std::max(x1, x);
  EXPECT_EQ(x0, 10);
  EXPECT_EQ(x1 - x0 + 1, report::text_width("HH", 2));
}

TEST(ReportPieces, ChartsDrawTheSameSceneInBothBackEnds) {
  report::Chart c;
  c.title = "t<&>";
  c.x_label = "epoch", c.y_label = "loss";
  c.series.push_back({.name = "a & b", .x = {1, 2, 3}, .y = {1.0, NAN, 0.5}, .colour = report::palette(0), .markers = true});
  const report::Scene s = report::chart_scene(c);
  const std::string svg = report::scene_svg(s);
  EXPECT_NE(svg.find("t&lt;&amp;&gt;"), std::string::npos);
  EXPECT_NE(svg.find("a &amp; b"), std::string::npos);
  EXPECT_EQ(svg.find("<&>"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos) << "a NaN point must be a gap, not a coordinate";
  const auto im = report::scene_raster(s);
  EXPECT_EQ(im.width, s.width);
  bool blue = false;  // the series colour is there, drawn
  for (int64_t y = 0; y < im.height && !blue; ++y)
    for (int64_t x = 0; x < im.width && !blue; ++x) blue = im.at(x, y) == report::palette(0);
  EXPECT_TRUE(blue);
  // No finite point at all: a "no data" figure, not a crash.
  report::Chart empty;
  empty.series.push_back({.name = "x", .x = {1}, .y = {NAN}});
  EXPECT_NE(report::scene_svg(report::chart_scene(empty)).find("no data"), std::string::npos);
}

// ---- whole reports -------------------------------------------------------------------------

TEST_F(Report, EverySectionFigureAndNumberIsThere) {
  const ReportData d = kiln::testing::sample_report_data();
  const std::string path = write_report(d, dir_);
  EXPECT_EQ(path, dir_ + "/report.html");
  const std::string html = slurp(path);
  ASSERT_FALSE(html.empty());
  for (const char* id : kSections) EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg")) << "the only URL is the SVG namespace";
  EXPECT_EQ(html.find("https://"), std::string::npos);
  // Text from the run is escaped everywhere.
  EXPECT_EQ(html.find("<b>top-right"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;top-right&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("tiny &lt;cnn&gt; &amp; &quot;friends&quot;"), std::string::npos);
  EXPECT_NE(html.find("test&lt;host&gt;"), std::string::npos);
  EXPECT_NE(html.find("@media print"), std::string::npos);
  EXPECT_GE(std::count(html.begin(), html.end(), '\n'), 100);

  // Every embedded image: 7 figures' SVGs hold the example tiles, the filter tiles and the scale bar.
  const int64_t embedded = check_embedded_pngs(html);
  EXPECT_EQ(embedded, static_cast<int64_t>(d.mistakes.size() + d.correct.size()) + 8 + 1);
  for (const char* f : kFigures) check_figure(dir_, f);
  size_t svgs = 0;
  for (size_t p = 0; (p = html.find("<svg", p)) != std::string::npos; ++p) ++svgs;
  EXPECT_EQ(svgs, std::size(kFigures));

  // The per-class table holds the ConfusionMatrix's numbers.
  const auto rows = table_rows(html, "per-class-table");
  ASSERT_EQ(rows.size(), d.class_names.size() + 3);
  for (int k = 0; k < d.confusion.classes(); ++k) {
    const ClassStats s = d.confusion.stats(k);
    const auto& r = rows[static_cast<size_t>(k)];
    ASSERT_EQ(r.size(), 5u);
    EXPECT_EQ(r[0], d.class_names[static_cast<size_t>(k)]);
    EXPECT_NEAR(std::stod(r[1]), s.precision, 5e-5);
    EXPECT_NEAR(std::stod(r[2]), s.recall, 5e-5);
    EXPECT_NEAR(std::stod(r[3]), s.f1, 5e-5);
    EXPECT_EQ(std::stoll(r[4]), s.support);
  }
  EXPECT_EQ(rows[2][1], "0.0000") << "class 2 is never predicted";
  EXPECT_NEAR(std::stod(rows[4][3]), d.confusion.accuracy(), 5e-5);
  EXPECT_NEAR(std::stod(rows[5][3]), d.confusion.macro_average().f1, 5e-5);
  EXPECT_NEAR(std::stod(rows[6][1]), d.confusion.weighted_average().precision, 5e-5);

  // The epoch table shows the input rows.
  const auto ep = table_rows(html, "epoch-table");
  ASSERT_EQ(ep.size(), d.epochs.size());
  for (size_t i = 0; i < ep.size(); ++i) {
    ASSERT_EQ(ep[i].size(), 9u);  // with validation columns
    EXPECT_EQ(std::stoll(ep[i][0]), d.epochs[i].epoch);
    EXPECT_NEAR(std::stod(ep[i][1]), d.epochs[i].train_loss, 5e-5);
    EXPECT_NEAR(std::stod(ep[i][2]) / 100, d.epochs[i].train_acc, 5e-5);
    EXPECT_NEAR(std::stod(ep[i][3]), d.epochs[i].test_loss, 5e-5);
    EXPECT_NEAR(std::stod(ep[i][4]) / 100, d.epochs[i].test_acc, 5e-5);
    EXPECT_NEAR(std::stod(ep[i][5]), d.epochs[i].val_loss, 5e-5);
  }
  // The model table: every layer, indented by depth, and the totals.
  const auto layers = table_rows(html, "model-table");
  ASSERT_EQ(layers.size(), d.layers.size() + 1);
  EXPECT_EQ(layers[3][1], "  conv 8 3x3 pad=1");
  EXPECT_EQ(layers.back()[3], "700");
  EXPECT_EQ(layers.back()[4], "47,680");
}

// The gradient-norm chart holds log10 of each layer's norms; the histogram chart the first and
// last epoch of each layer as shares that add up to 1, and says what it leaves out.
TEST(ReportPieces, DynamicsChartsHoldTheRecordedNumbers) {
  const ReportData d = kiln::testing::sample_report_data(3);
  const report::Chart g = report::grad_norm_chart(d);
  ASSERT_EQ(g.series.size(), 3u);
  ASSERT_EQ(g.series[2].y.size(), d.grad_norms.size());
  EXPECT_EQ(g.series[2].name, "4 dense");
  EXPECT_NEAR(g.series[2].y[5], std::log10(d.grad_norms[5].norms[2]), 1e-12);
  EXPECT_DOUBLE_EQ(g.series[2].x[5], d.grad_norms[5].epoch);
  std::string note;
  const report::Chart h = report::histogram_chart(d, 2, &note);
  ASSERT_EQ(h.series.size(), 4u) << "2 layers x (first, last epoch)";
  EXPECT_EQ(h.series[0].name, "0 conv, epoch 1");
  EXPECT_TRUE(h.series[0].dashed);
  EXPECT_EQ(h.series[1].name, "0 conv, epoch 3");
  double sum = 0;
  for (double y : h.series[1].y) sum += y;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_NEAR(h.series[1].x.front(), -0.3 + 0.03, 1e-12) << "the first bin's centre";
  EXPECT_EQ(note, "2 of 3 layers, after epoch 1 (dashed) and epoch 3; every layer and epoch is in histograms.csv");
  ReportData none;
  report::histogram_chart(none, 6, &note);
  EXPECT_EQ(note, "no weight histograms were recorded");
}

// Nothing at all: every section still there, saying so, and every figure a readable PNG.
// The per-epoch table: classification shows accuracies and highlights the highest test
// accuracy; regression shows RMSE and MAE and highlights the lowest test RMSE. A first epoch
// without a number (NaN) is never the highlighted one.
TEST_F(Report, EpochTableHighlightsTheBestEpochOfEitherTask) {
  // The <tr> of the highlighted rows of <table id="epoch-table">, by the epoch in their first cell.
  auto best_epochs = [](const std::string& html) {
    std::vector<std::string> epochs;
    const size_t start = html.find("<table id=\"epoch-table\""), end = html.find("</table>", start);
    static const std::regex best("<tr class=\"best\"><td[^>]*>([0-9]+)</td>");
    const std::string t = html.substr(start, end - start);
    for (std::sregex_iterator r(t.begin(), t.end(), best), e; r != e; ++r) epochs.push_back((*r)[1]);
    return epochs;
  };
  ReportData d;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double acc[] = {nan, 0.91, 0.95, 0.93}, rmse[] = {nan, 3.5, 2.5, 2.75};
  for (int i = 0; i < 4; ++i) {
    EpochRow r;
    r.epoch = i + 1, r.test_acc = acc[i], r.test_rmse = rmse[i], r.test_mae = rmse[i] / 2, r.train_rmse = 4 - i;
    d.epochs.push_back(r);
  }
  d.epochs[1].test_rmse = 2.0;  // the lowest RMSE is in another epoch than the highest accuracy
  std::string html = slurp(write_report(d, dir_));
  EXPECT_EQ(best_epochs(html), std::vector<std::string>{"3"});
  auto rows = table_rows(html, "epoch-table");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[2].size(), 7u);  // epoch, train loss/acc, test loss/acc, learning rate, time
  EXPECT_EQ(rows[2][4], "95.00%");
  EXPECT_NE(html.find("the highlighted row has the best test accuracy"), std::string::npos);

  d.regression = true;
  html = slurp(write_report(d, dir_));
  EXPECT_EQ(best_epochs(html), std::vector<std::string>{"2"});
  rows = table_rows(html, "epoch-table");
  ASSERT_EQ(rows.size(), 4u);
  ASSERT_EQ(rows[1].size(), 8u);  // epoch, train loss/RMSE, test loss/RMSE/MAE, learning rate, time
  EXPECT_DOUBLE_EQ(std::stod(rows[1][4]), 2.0);
  EXPECT_DOUBLE_EQ(std::stod(rows[1][5]), 1.75);
  EXPECT_NE(html.find("the highlighted row has the lowest test RMSE"), std::string::npos);
}

TEST_F(Report, EmptyDataSaysNoData) {
  ReportData d;
  const std::string html = slurp(write_report(d, dir_));
  for (const char* id : kSections) EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_NE(html.find("No data"), std::string::npos);
  EXPECT_NE(html.find("no data"), std::string::npos);
  for (const char* f : kFigures) check_figure(dir_, f);
  check_embedded_pngs(html);
}

TEST_F(Report, DegradesGracefullyOnOddInput) {
  // One epoch with NaN test numbers, NaN batches, one class, no mistakes, a dense first layer,
  // a long UTF-8 class name.
  ReportData d;
  d.title = std::string(300, 'x');
  EpochRow e;
  e.epoch = 1, e.train_loss = 0.5, e.train_acc = 0.8, e.test_loss = NAN, e.test_acc = NAN, e.lr = 0.1, e.seconds = 3;
  d.epochs.push_back(e);
  d.batches.push_back({1, 0.5, NAN, NAN, 0.1});
  d.batches.push_back({2, 1.0, 0.4, 0.9, 0.1});
  d.class_names = {"ünïcödé-" + std::string(200, 'n')};
  d.confusion = ConfusionMatrix(1);
  d.confusion.add(0, 0, 5);
  Rng rng(1);
  d.correct.push_back(kiln::testing::sample_image(0, 0, 0.9f, 0, 1, rng));
  d.correct.back().label = d.correct.back().pred = 0;
  d.first_weights_shape = {3, 64};
  for (int i = 0; i < 192; ++i) d.first_weights.push_back(i % 3 == 0 ? NAN : static_cast<float>(i) - 96);
  d.input_shape = {1, 8, 8};
  ASSERT_NO_THROW(write_report(d, dir_));
  std::string html = slurp(dir_ + "/report.html");
  EXPECT_NE(html.find("No mistakes to show"), std::string::npos);
  for (const char* f : kFigures) check_figure(dir_, f);
  check_embedded_pngs(html);
  EXPECT_NE(html.find("3 of 3 dense rows, each 1\u00d78\u00d78"), std::string::npos);

  // Dense weights that do not match the input shape: a near-square block. Many conv filters:
  // capped at 64. RGB filters. A conv with 5 input channels: side by side.
  d.first_weights_shape = {3, 50};
  d.first_weights.assign(150, 0.25f);
  ASSERT_NO_THROW(write_report(d, dir_));
  for (const auto& shape : std::vector<std::vector<int64_t>>{{200, 1, 5, 5}, {10, 3, 3, 3}, {4, 5, 3, 3}}) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    d.first_weights.assign(static_cast<size_t>(n), 0);
    for (int64_t i = 0; i < n; ++i) d.first_weights[static_cast<size_t>(i)] = static_cast<float>(std::sin(static_cast<double>(i)));
    d.first_weights_shape = shape;
    ASSERT_NO_THROW(write_report(d, dir_));
    html = slurp(dir_ + "/report.html");
    check_figure(dir_, "filters");
  }
  EXPECT_NE(html.find("4 of 4 conv filters, each 5\u00d73\u00d73, channels side by side"), std::string::npos);
  d.first_weights_shape = {200, 1, 5, 5};
  d.first_weights.assign(5000, 1.0f);
  write_report(d, dir_);
  EXPECT_NE(slurp(dir_ + "/report.html").find("64 of 200 conv filters"), std::string::npos);

  // A weight of an unknown rank: said, not drawn; a missing one: said.
  d.first_weights_shape = {10};
  d.first_weights.assign(10, 1.0f);
  EXPECT_NE(slurp(write_report(d, dir_)).find("cannot show first-layer weights of shape [10]"), std::string::npos);
  d.first_weights.clear();
  d.first_weights_shape.clear();
  EXPECT_NE(slurp(write_report(d, dir_)).find("no first-layer weights"), std::string::npos);
}

TEST_F(Report, InconsistentInputIsAnErrorWithContext) {
  ReportData d = kiln::testing::sample_report_data(2);
  d.mistakes[0].pixels.pop_back();
  try {
    write_report(d, dir_);
    FAIL() << "a short pixel buffer was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("#100"), std::string::npos) << e.what();
  }
  d = kiln::testing::sample_report_data(2);
  d.first_weights.pop_back();
  EXPECT_THROW(write_report(d, dir_), Error);
}

TEST_F(Report, ManyClassesShrinkTheHeatMap) {
  ReportData d;
  d.confusion = ConfusionMatrix(120);
  for (int k = 0; k < 120; ++k) d.confusion.add(k, (k * 7) % 120, 3), d.confusion.add(k, k, 10);
  write_report(d, dir_);
  check_figure(dir_, "confusion");
  EXPECT_EQ(table_rows(slurp(dir_ + "/report.html"), "per-class-table").size(), 123u);
}

// A real run: the report's numbers are those of the run's metrics.csv.
TEST_F(Report, ShortRealRunMatchesItsMetrics) {
  const std::string data = kiln::testing::make_synthetic_idx("report-run");
  struct Cleanup {
    std::string d;
    ~Cleanup() { fs::remove_all(d); }
  } cleanup{data};
  Experiment e = parse_experiment(
      "name = \"tiny-report\"\nseed = 3\n[data]\ndataset = \"idx\"\ndir = \"" + data +
          "\"\n[model]\nlayers = [\"conv 4 3x3 pad=1\", \"relu\", \"maxpool 2\", \"dense 4\"]\n[optimizer]\nname = \"sgd\"\nlr = 0.05\n"
          "momentum = 0.9\n[train]\nbatch_size = 16\nepochs = 2\nlog_every = 4\nthreads = 2\n",
      "tiny.toml");
  TrainOptions o;
  o.runs_dir = dir_;
  o.progress = false;
  o.epoch_lines = false;
  o.write_report = true;
  const RunResult r = train(e, o);
  ASSERT_EQ(r.status, RunResult::Status::completed) << r.message;
  ASSERT_TRUE(fs::exists(r.run_dir + "/report.html"));
  const std::string html = slurp(r.run_dir + "/report.html");
  const auto metrics = read_epoch_csv(r.run_dir + "/metrics.csv");
  const auto ep = table_rows(html, "epoch-table");
  ASSERT_EQ(ep.size(), metrics.size());
  ASSERT_EQ(metrics.size(), 2u);
  for (size_t i = 0; i < ep.size(); ++i) {
    EXPECT_EQ(std::stoll(ep[i][0]), metrics[i].epoch);
    EXPECT_NEAR(std::stod(ep[i][1]), metrics[i].train_loss, 5e-5);
    EXPECT_NEAR(std::stod(ep[i][2]) / 100, metrics[i].train_acc, 5e-5);
    EXPECT_NEAR(std::stod(ep[i][3]), metrics[i].test_loss, 5e-5);
    EXPECT_NEAR(std::stod(ep[i][4]) / 100, metrics[i].test_acc, 5e-5);
  }
  // The confusion matrix is over the 64 test images, and its accuracy is the run's.
  const auto pc = table_rows(html, "per-class-table");
  ASSERT_EQ(pc.size(), 4u + 3);
  EXPECT_EQ(pc[4][4], "64");
  EXPECT_NEAR(std::stod(pc[4][3]), metrics.back().test_acc, 5e-5);
  for (const char* f : kFigures) check_figure(r.run_dir, f);
  check_embedded_pngs(html);
  EXPECT_NE(html.find("conv 4 3x3 pad=1"), std::string::npos);
  EXPECT_NE(html.find("4 of 4 conv filters"), std::string::npos);
  EXPECT_NE(html.find("2 of 2 layers, after epoch 1 (dashed) and epoch 2."), std::string::npos) << "histograms.csv was read";
  EXPECT_NE(html.find("0 conv"), std::string::npos) << "a gradient-norm legend names the layers";
}

// ---- sweeps --------------------------------------------------------------------------------

TEST_F(Sweep, TableIsSortedInThreeFormats) {
  std::vector<SweepRow> rows;
  const double accs[] = {0.80, 0.95, NAN, 0.90};
  for (int i = 0; i < 4; ++i) {
    SweepRow r;
    r.name = "optimizer.lr=" + std::to_string(i) + (i == 3 ? ",a|b" : "");
    r.values["optimizer.lr"] = std::to_string(i);
    r.values["model.width"] = i == 3 ? "a|b, \"q\"" : "8";
    if (std::isfinite(accs[i])) {
      for (int64_t ep = 1; ep <= 3; ++ep) {
        EpochRow er;
        er.epoch = ep, er.test_acc = accs[i] - 0.1 * static_cast<double>(3 - ep), er.test_loss = 1.0 / static_cast<double>(ep + i);
        er.train_loss = er.test_loss, er.train_acc = er.test_acc, er.seconds = 1;
        r.epochs.push_back(er);
      }
      r.final_test_acc = r.best_test_acc = accs[i];
      r.final_val_acc = r.best_val_acc = accs[i] - 0.01;  // the ranking's metric (never the test set)
      r.final_test_loss = r.best_test_loss = r.final_train_loss = r.epochs.back().test_loss;
      r.final_train_acc = accs[i];
      r.seconds = 3;
    } else {
      r.final_train_loss = r.final_train_acc = r.final_test_loss = r.final_test_acc = r.best_test_acc = r.best_test_loss = NAN;
    }
    r.params = 1000 + i;
    rows.push_back(r);
  }
  const std::string md = write_sweep(rows, dir_);
  EXPECT_EQ(md, slurp(dir_ + "/comparison.md"));
  // Markdown: header, separator, then rows by final validation accuracy, the unfinished one last.
  std::vector<std::string> lines;
  std::istringstream is(md);
  for (std::string l; std::getline(is, l);) lines.push_back(l);
  ASSERT_GE(lines.size(), 6u);
  EXPECT_NE(lines[0].find("| variant |"), std::string::npos);
  EXPECT_NE(lines[0].find("model.width"), std::string::npos);
  EXPECT_NE(lines[1].find("---:"), std::string::npos);
  EXPECT_NE(lines[2].find("optimizer.lr=1 "), std::string::npos);
  EXPECT_NE(lines[3].find("optimizer.lr=3,a\\|b"), std::string::npos) << "a '|' must not split the cell";
  EXPECT_NE(lines[4].find("optimizer.lr=0 "), std::string::npos);
  EXPECT_NE(lines[5].find("optimizer.lr=2 "), std::string::npos);
  EXPECT_NE(lines[2].find("95.00%"), std::string::npos);
  // CSV: the same order, full precision, quoted fields.
  const std::string csv = slurp(dir_ + "/comparison.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "rank,variant,model.width,optimizer.lr,settings,final_val_acc,best_val_acc,final_train_loss,final_train_acc,"
            "final_test_loss,final_test_acc,best_test_loss,best_test_acc,parameters,seconds");
  EXPECT_NE(csv.find("\n1,optimizer.lr=1,8,1,"), std::string::npos);
  EXPECT_NE(csv.find("\"a|b, \"\"q\"\"\""), std::string::npos);
  EXPECT_NE(csv.find(",0.95,"), std::string::npos);
  EXPECT_NE(csv.find(",nan,"), std::string::npos);
  // HTML: the table, both charts inline, the PNG copies.
  const std::string html = slurp(dir_ + "/comparison.html");
  const auto t = table_rows(html, "comparison-table");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0][1], "optimizer.lr=1");
  EXPECT_EQ(t[3][1], "optimizer.lr=2");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  size_t svgs = 0;
  for (size_t p = 0; (p = html.find("<svg", p)) != std::string::npos; ++p) ++svgs;
  EXPECT_EQ(svgs, 2u);
  check_figure(dir_, "test_accuracy");
  check_figure(dir_, "test_loss");

  // No variants at all: still three files.
  fs::remove_all(dir_);
  EXPECT_NO_THROW(write_sweep({}, dir_));
  EXPECT_TRUE(fs::exists(dir_ + "/comparison.html"));
  check_figure(dir_, "test_accuracy");
}
