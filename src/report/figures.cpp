#include "report/figures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/text.h"

namespace kiln::report {

namespace {

constexpr int kScale = 2;
constexpr double kCharH = kCapHeight * kScale, kCharW = kAdvance * kScale;
const Rgb kInk{0x22, 0x22, 0x22}, kMuted{0x66, 0x66, 0x66}, kWrong{0xC0, 0x39, 0x00};

std::string shape_text(const std::vector<int64_t>& shape, const char* sep = "\u00d7") {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? sep : "") + std::to_string(shape[i]);
  return s;
}

// Light to dark blue, through three stops (ColorBrewer "Blues"), for t in [0, 1].
Rgb blues(double t) {
  const Rgb a{0xf7, 0xfb, 0xff}, b{0x6b, 0xae, 0xd6}, c{0x08, 0x30, 0x6b};
  return t < 0.5 ? mix(a, b, t * 2) : mix(b, c, (t - 0.5) * 2);
}

// Integer upscaling to about `target` pixels on the long side; images already larger than
// `limit` are shrunk to it.
Image upscale(const Image& im, int64_t target, int64_t limit) {
  const int64_t side = std::max(im.width, im.height);
  if (side > limit) return resize_nearest(im, std::max<int64_t>(1, im.width * limit / side), std::max<int64_t>(1, im.height * limit / side));
  const int64_t f = std::max<int64_t>(1, target / side);
  return resize_nearest(im, im.width * f, im.height * f);
}

}  // namespace

Scene confusion_scene(const ConfusionMatrix& cm, const std::vector<std::string>& names) {
  const int n = cm.classes();
  const std::string title = "Confusion matrix (test set)";
  if (n == 0 || cm.total() == 0) return no_data_scene(title, "no data");
  // Cells shrink with the class count; past ~40 classes the labels are dropped (tooltips keep them).
  const int64_t cs = n <= 400 ? std::clamp<int64_t>(560 / n, 4, 56) : std::max<int64_t>(1, 1600 / n);
  const bool labels = cs >= 12;
  std::vector<std::string> label(static_cast<size_t>(n));
  int64_t label_w = 0;
  for (int k = 0; k < n; ++k) {
    label[static_cast<size_t>(k)] = utf8_truncate(class_name(names, k), 14);
    label_w = std::max(label_w, text_width(label[static_cast<size_t>(k)], kScale));
  }
  if (!labels) label_w = 0;
  // Column labels: horizontal if every one fits its cell, else vertical (reading upwards).
  const bool vertical_cols = label_w > cs - 4;
  const double pad = 16, top = 62;
  const double left = pad + kCharH + 12 + static_cast<double>(label_w) + 8;
  const double grid = static_cast<double>(cs) * n;
  const double col_h = labels ? (vertical_cols ? static_cast<double>(label_w) : kCharH) + 8 : 0;
  const std::string subtitle = "rows: true class, columns: predicted; colour: share of the row";
  Scene s;
  s.title = title;
  s.width = static_cast<int64_t>(std::max(left + grid + 2 * pad, static_cast<double>(text_width(subtitle, kScale)) + 2 * pad));
  s.height = static_cast<int64_t>(top + grid + 8 + col_h + 12 + kCharH + pad);
  s.text({.x = pad, .y = 20, .text = title, .colour = kInk, .scale = kScale, .bold = true});
  s.text({.x = pad, .y = 42, .text = subtitle, .colour = kMuted, .scale = kScale});

  for (int t = 0; t < n; ++t) {
    int64_t row_total = 0;
    for (int p = 0; p < n; ++p) row_total += cm.at(t, p);
    for (int p = 0; p < n; ++p) {
      const int64_t count = cm.at(t, p);
      const double share = row_total > 0 ? static_cast<double>(count) / static_cast<double>(row_total) : 0.0;
      const double x = left + static_cast<double>(cs) * p, y = top + static_cast<double>(cs) * t;
      s.rect({.x = x, .y = y, .w = static_cast<double>(cs), .h = static_cast<double>(cs), .fill = blues(share),
              .tooltip = "true " + class_name(names, t) + ", predicted " + class_name(names, p) + ": " + std::to_string(count) +
                         " (" + percent(share, 1) + " of the row)"});
      if (count == 0 && cs < 24) continue;
      const std::string txt = std::to_string(count);
      const int scale = text_width(txt, kScale) <= cs - 4 ? kScale : text_width(txt, 1) <= cs - 2 ? 1 : 0;
      if (scale == 0 || cs < 10) continue;
      s.text({.x = x + static_cast<double>(cs) / 2, .y = y + static_cast<double>(cs) / 2, .text = txt,
              .colour = share > 0.5 ? Rgb{255, 255, 255} : count == 0 ? Rgb{0xaa, 0xaa, 0xaa} : kInk, .scale = scale,
              .anchor = Anchor::middle});
    }
  }
  s.rect({.x = left, .y = top, .w = grid, .h = grid, .filled = false, .stroke = {0x99, 0x99, 0x99}, .stroke_width = 1});
  if (labels)
    for (int k = 0; k < n; ++k) {
      const double c = static_cast<double>(cs) * (k + 0.5);
      const std::string& full = class_name(names, k);
      s.text({.x = left - 8, .y = top + c, .text = label[static_cast<size_t>(k)], .colour = kInk, .scale = kScale,
              .anchor = Anchor::end, .tooltip = full});
      if (vertical_cols)
        s.text({.x = left + c, .y = top + grid + 8, .text = label[static_cast<size_t>(k)], .colour = kInk, .scale = kScale,
                .anchor = Anchor::end, .vertical = true, .tooltip = full});
      else
        s.text({.x = left + c, .y = top + grid + 8 + kCharH / 2, .text = label[static_cast<size_t>(k)], .colour = kInk,
                .scale = kScale, .anchor = Anchor::middle, .tooltip = full});
    }
  s.text({.x = left + grid / 2, .y = top + grid + 8 + col_h + 12 + kCharH / 2, .text = "predicted class", .colour = kInk,
          .scale = kScale, .anchor = Anchor::middle, .bold = true});
  // Centred on the rows, but never above them when there are too few rows for the label.
  const double true_w = static_cast<double>(text_width("true class", kScale));
  s.text({.x = pad + kCharH / 2, .y = top + std::max(grid, true_w + 16) / 2, .text = "true class", .colour = kInk, .scale = kScale,
          .anchor = Anchor::middle, .vertical = true, .bold = true});
  return s;
}

Image example_image(const ImageExample& ex) {
  if (ex.C <= 0 || ex.H <= 0 || ex.W <= 0 || ex.H > 4096 || ex.W > 4096)
    throw Error("report: test image #" + std::to_string(ex.index) + " has shape " + shape_text({ex.C, ex.H, ex.W}));
  if (static_cast<int64_t>(ex.pixels.size()) != ex.C * ex.H * ex.W)
    throw Error("report: test image #" + std::to_string(ex.index) + " has " + std::to_string(ex.pixels.size()) +
                " pixel values, expected C*H*W = " + std::to_string(ex.C * ex.H * ex.W));
  Image im(ex.W, ex.H);
  const int64_t plane = ex.H * ex.W;
  for (int64_t y = 0; y < ex.H; ++y)
    for (int64_t x = 0; x < ex.W; ++x) {
      const auto at = [&](int64_t c) { return ex.pixels[static_cast<size_t>(c * plane + y * ex.W + x)]; };
      im.set(x, y, ex.C == 3 ? Rgb{at(0), at(1), at(2)} : Rgb{at(0), at(0), at(0)});
    }
  return im;
}

Scene examples_scene(const std::string& title, const std::vector<ImageExample>& examples, const std::vector<std::string>& names,
                     bool mistakes) {
  if (examples.empty()) return no_data_scene(title, mistakes ? "no mistakes to show" : "no examples to show");
  std::vector<Image> tiles;
  int64_t tw = 0, th = 0;
  for (const auto& ex : examples) {
    tiles.push_back(upscale(example_image(ex), 84, 128));
    tw = std::max(tw, tiles.back().width), th = std::max(th, tiles.back().height);
  }
  const int64_t chars = 11;  // "T-shirt/top": the longest Fashion-MNIST name
  const double pad = 16, gap = 16, line_h = 20;
  const double cw = std::max(static_cast<double>(tw), chars * kCharW) + gap;
  const int lines = mistakes ? 3 : 2;
  const double rh = static_cast<double>(th) + 8 + lines * line_h + 12;
  const auto n = static_cast<int64_t>(examples.size());
  const int64_t cols = std::clamp<int64_t>(static_cast<int64_t>((1000 - 2 * pad) / cw), 1, n);
  const int64_t rows = (n + cols - 1) / cols;
  const std::string legend = mistakes ? "black: true class, red: predicted, p: its probability" : "class, p: its probability";
  Scene s;
  s.title = title;
  s.width = static_cast<int64_t>(std::max(2 * pad + cw * static_cast<double>(cols), 2 * pad + static_cast<double>(text_width(title, kScale))));
  s.width = std::max<int64_t>(s.width, static_cast<int64_t>(2 * pad) + text_width(legend, kScale));
  s.height = static_cast<int64_t>(60 + rh * static_cast<double>(rows) + 4);
  s.text({.x = pad, .y = 20, .text = title, .colour = kInk, .scale = kScale, .bold = true});
  s.text({.x = pad, .y = 42, .text = legend, .colour = kMuted, .scale = kScale});
  for (int64_t i = 0; i < n; ++i) {
    const ImageExample& ex = examples[static_cast<size_t>(i)];
    const double x = pad + cw * static_cast<double>(i % cols), y = 60 + rh * static_cast<double>(i / cols);
    const std::string truth = class_name(names, ex.label), pred = class_name(names, ex.pred);
    const std::string tip = "test image #" + std::to_string(ex.index) + ": true " + truth + ", predicted " + pred + " (p = " +
                            fixed(ex.prob, 4) + ")";
    s.image({.x = x, .y = y, .image = tiles[static_cast<size_t>(i)], .tooltip = tip});
    s.rect({.x = x - 0.5, .y = y - 0.5, .w = static_cast<double>(tiles[static_cast<size_t>(i)].width) + 1,
            .h = static_cast<double>(tiles[static_cast<size_t>(i)].height) + 1, .filled = false, .stroke = {0xcc, 0xcc, 0xcc},
            .stroke_width = 1});
    double ty = y + static_cast<double>(th) + 8 + line_h / 2;
    s.text({.x = x, .y = ty, .text = utf8_truncate(truth, chars), .colour = kInk, .scale = kScale, .tooltip = truth});
    if (mistakes) {
      ty += line_h;
      s.text({.x = x, .y = ty, .text = utf8_truncate(pred, chars), .colour = kWrong, .scale = kScale, .tooltip = pred});
    }
    ty += line_h;
    s.text({.x = x, .y = ty, .text = "p=" + percent(ex.prob, 1), .colour = kMuted, .scale = kScale});
  }
  return s;
}

Scene filters_scene(const std::vector<float>& w, const std::vector<int64_t>& shape, const std::vector<int64_t>& input_shape,
                    int64_t max_tiles, std::string* note) {
  const std::string title = "First layer's weights";
  auto nothing = [&](const std::string& why) {
    if (note) *note = why;
    return no_data_scene(title, why);
  };
  if (w.empty() || shape.empty()) return nothing("no first-layer weights in this run");
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d <= 0) throw Error("report: first-layer weight shape [" + shape_text(shape, ", ") + "] has a non-positive size");
    numel *= d;
  }
  if (numel != static_cast<int64_t>(w.size()))
    throw Error("report: first-layer weights have " + std::to_string(w.size()) + " values, but their shape [" +
                shape_text(shape, ", ") + "] needs " + std::to_string(numel));
  // Every unit as (C, H, W): the view of its weights to draw.
  int64_t units = 0, C = 1, H = 1, W = 1;
  std::string kind;
  if (shape.size() == 4) {
    units = shape[0], C = shape[1], H = shape[2], W = shape[3];
    kind = "conv filters";
  } else if (shape.size() == 2) {
    units = shape[0];
    const int64_t in = shape[1];
    int64_t prod = 1;
    for (int64_t d : input_shape) prod *= d;
    if (input_shape.size() == 3 && prod == in) {
      C = input_shape[0], H = input_shape[1], W = input_shape[2];
    } else if (input_shape.size() == 2 && prod == in) {
      H = input_shape[0], W = input_shape[1];
    } else {  // no image shape to go by: a near-square block, padded at the end
      W = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(in))));
      H = (in + W - 1) / W;
    }
    kind = "dense rows";
  } else {
    return nothing("cannot show first-layer weights of shape [" + shape_text(shape, ", ") + "]");
  }
  const int64_t shown = std::min(units, std::max<int64_t>(1, max_tiles));
  const int64_t per_unit = shape.size() == 4 ? C * H * W : shape[1];
  const bool rgb = C == 3;
  const int64_t planes = rgb ? 1 : std::min<int64_t>(C, 8);  // grey channels side by side, at most 8
  double m = 0;
  for (int64_t i = 0; i < shown * per_unit; ++i) m = std::max(m, static_cast<double>(std::fabs(w[static_cast<size_t>(i)])));
  if (!(m > 0) || !std::isfinite(m)) m = 1;
  auto level = [m](double v) {
    if (!std::isfinite(v)) return uint8_t{128};
    return static_cast<uint8_t>(std::lround(std::clamp(127.5 + 127.5 * v / m, 0.0, 255.0)));
  };

  std::vector<Image> tiles;
  for (int64_t k = 0; k < shown; ++k) {
    const float* u = w.data() + k * per_unit;
    Image t(planes * W + (planes - 1), H, {255, 255, 255});
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const int64_t i = y * W + x, plane = H * W;
        auto val = [&](int64_t c) { return c * plane + i < per_unit ? static_cast<double>(u[c * plane + i]) : 0.0; };
        if (rgb) {
          t.set(x, y, {level(val(0)), level(val(1)), level(val(2))});
        } else {
          for (int64_t c = 0; c < planes; ++c) {
            const uint8_t g = level(val(c));
            t.set(c * (W + 1) + x, y, {g, g, g});
          }
        }
      }
    tiles.push_back(upscale(t, 64, 128));
  }
  const int64_t tw = tiles[0].width, th = tiles[0].height;
  const double pad = 16, gap = 8;
  const auto max_cols = std::max<int64_t>(1, static_cast<int64_t>((980 - 2 * pad) / (static_cast<double>(tw) + gap)));
  const auto sq = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(shown))));
  const int64_t cols = std::min({max_cols, shown, std::max(sq, std::min<int64_t>(shown, 8))});
  const int64_t rows = (shown + cols - 1) / cols;

  const std::string unit_shape = shape_text({C, H, W});
  const std::string what = std::to_string(shown) + " of " + std::to_string(units) + " " + kind + ", each " + unit_shape +
                           (rgb ? " as RGB" : C > 1 ? ", channels side by side" : "");
  if (note) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g", m);
    *note = what + "; scale \u00b1" + buf + " (black: \u2212" + buf + ", mid grey: 0, white: +" + buf + ")";
  }
  Scene s;
  s.title = title;
  const double grid_w = static_cast<double>(cols) * (static_cast<double>(tw) + gap) - gap;
  const double bar_y = 60 + static_cast<double>(rows) * (static_cast<double>(th) + gap) + 8;
  s.width = static_cast<int64_t>(std::max({2 * pad + grid_w, 2 * pad + static_cast<double>(text_width(what, kScale)), 420.0}));
  s.height = static_cast<int64_t>(bar_y + 16 + 12 + kCharH + pad);
  s.text({.x = pad, .y = 20, .text = title, .colour = kInk, .scale = kScale, .bold = true});
  s.text({.x = pad, .y = 42, .text = what, .colour = kMuted, .scale = kScale});
  for (int64_t k = 0; k < shown; ++k) {
    const double x = pad + static_cast<double>(k % cols) * (static_cast<double>(tw) + gap);
    const double y = 60 + static_cast<double>(k / cols) * (static_cast<double>(th) + gap);
    s.image({.x = x, .y = y, .image = tiles[static_cast<size_t>(k)], .tooltip = "unit " + std::to_string(k)});
  }
  // The scale: a grey ramp from -m to +m.
  const int64_t bar_w = 256;
  Image bar(bar_w, 16);
  for (int64_t x = 0; x < bar_w; ++x) {
    const auto g = static_cast<uint8_t>(x * 255 / (bar_w - 1));
    for (int64_t y = 0; y < 16; ++y) bar.set(x, y, {g, g, g});
  }
  s.image({.x = pad + 80, .y = bar_y, .image = bar, .tooltip = "weight scale"});
  s.rect({.x = pad + 79.5, .y = bar_y - 0.5, .w = bar_w + 1.0, .h = 17, .filled = false, .stroke = {0x99, 0x99, 0x99}, .stroke_width = 1});
  char lo[32], hi[32];
  std::snprintf(lo, sizeof lo, "\u2212%.3g", m);
  std::snprintf(hi, sizeof hi, "+%.3g", m);
  s.text({.x = pad, .y = bar_y + 8, .text = "scale", .colour = kMuted, .scale = kScale});
  const double ly = bar_y + 16 + 12 + kCharH / 2 - 4;
  s.text({.x = pad + 80, .y = ly, .text = lo, .colour = kMuted, .scale = kScale});
  s.text({.x = pad + 80 + bar_w / 2.0, .y = ly, .text = "0", .colour = kMuted, .scale = kScale, .anchor = Anchor::middle});
  s.text({.x = pad + 80 + static_cast<double>(bar_w), .y = ly, .text = hi, .colour = kMuted, .scale = kScale, .anchor = Anchor::end});
  return s;
}

}  // namespace kiln::report
