#include "report/scene.h"

#include <cmath>
#include <cstdio>

#include "report/html.h"

namespace kiln::report {

namespace {

// Coordinates with at most 2 decimals keep the SVG short.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// The SVG font size for a bitmap scale: 7 px of cap height per scale step; a sans-serif
// font's cap height is ~0.72 em and its average advance ~0.55 em, so at 7·scale px it is a
// little smaller and narrower than the bitmap glyphs the layout measured.
double font_px(int scale) { return 7.0 * scale; }

std::string title_tag(const std::string& tooltip) {
  return tooltip.empty() ? "" : "<title>" + escape(tooltip) + "</title>";
}

struct SvgWriter {
  std::string& o;
  void operator()(const RectItem& r) const {
    o += "<rect x=\"" + num(r.x) + "\" y=\"" + num(r.y) + "\" width=\"" + num(r.w) + "\" height=\"" + num(r.h) + "\"";
    o += " fill=\"" + (r.filled ? css_colour(r.fill) : std::string("none")) + "\"";
    if (r.stroke_width > 0) o += " stroke=\"" + css_colour(r.stroke) + "\" stroke-width=\"" + num(r.stroke_width) + "\"";
    o += r.tooltip.empty() ? "/>\n" : ">" + title_tag(r.tooltip) + "</rect>\n";
  }
  void operator()(const LineItem& l) const {
    if (l.points.empty()) return;
    o += "<polyline fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\" stroke=\"" + css_colour(l.colour) +
         "\" stroke-width=\"" + num(l.width) + "\"";
    if (l.dash > 0) o += " stroke-dasharray=\"" + num(l.dash) + " " + num(l.gap) + "\"";
    o += " points=\"";
    for (size_t i = 0; i < l.points.size(); ++i) o += (i ? " " : "") + num(l.points[i].first) + "," + num(l.points[i].second);
    if (l.points.size() == 1) o += " " + num(l.points[0].first) + "," + num(l.points[0].second);
    o += "\"/>\n";
  }
  void operator()(const CircleItem& c) const {
    o += "<circle cx=\"" + num(c.cx) + "\" cy=\"" + num(c.cy) + "\" r=\"" + num(c.r) + "\" fill=\"" + css_colour(c.fill) + "\"/>\n";
  }
  void operator()(const TextItem& t) const {
    // SVG places text by its baseline; the cap-height middle is ~0.36 em above it.
    const double fs = font_px(t.scale), shift = 0.36 * fs;
    const char* anchor = t.anchor == Anchor::start ? "start" : t.anchor == Anchor::middle ? "middle" : "end";
    const double bx = t.vertical ? t.x + shift : t.x, by = t.vertical ? t.y : t.y + shift;
    o += "<text x=\"" + num(bx) + "\" y=\"" + num(by) + "\" font-size=\"" + num(fs) + "\" text-anchor=\"" + anchor + "\"";
    o += " fill=\"" + css_colour(t.colour) + "\"";
    if (t.bold) o += " font-weight=\"bold\"";
    if (t.vertical) o += " transform=\"rotate(-90 " + num(bx) + " " + num(by) + ")\"";
    o += ">" + title_tag(t.tooltip) + escape(t.text) + "</text>\n";
  }
  void operator()(const ImageItem& i) const {
    if (i.image.empty()) return;
    o += "<image x=\"" + num(i.x) + "\" y=\"" + num(i.y) + "\" width=\"" + std::to_string(i.image.width) + "\" height=\"" +
         std::to_string(i.image.height) + "\" href=\"" + png_data_uri(i.image) + "\">" + title_tag(i.tooltip) + "</image>\n";
  }
};

struct RasterWriter {
  Image& im;
  void operator()(const RectItem& r) const {
    if (r.filled) fill_rect(im, r.x, r.y, r.w, r.h, r.fill);
    // SVG centres a stroke on the outline; the raster does the same.
    if (r.stroke_width > 0) {
      const double h = r.stroke_width / 2;
      stroke_rect(im, r.x - h, r.y - h, r.w + r.stroke_width, r.h + r.stroke_width, r.stroke, r.stroke_width);
    }
  }
  void operator()(const LineItem& l) const { stroke_polyline(im, l.points, l.colour, l.width, l.dash, l.gap); }
  void operator()(const CircleItem& c) const { fill_circle(im, c.cx, c.cy, c.r, c.fill); }
  void operator()(const TextItem& t) const { draw_text(im, t.x, t.y, t.text, t.colour, t.scale, t.anchor, t.vertical, t.bold); }
  void operator()(const ImageItem& i) const { draw_image(im, i.image, std::lround(i.x), std::lround(i.y)); }
};

}  // namespace

std::string scene_svg(const Scene& s) {
  std::string o = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + std::to_string(s.width) + " " +
                  std::to_string(s.height) + "\" width=\"" + std::to_string(s.width) + "\" height=\"" +
                  std::to_string(s.height) + "\" role=\"img\" aria-label=\"" + escape(s.title) +
                  "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"" + css_colour(s.background) + "\"/>\n";
  for (const auto& item : s.items) std::visit(SvgWriter{o}, item);
  return o + "</svg>\n";
}

Image scene_raster(const Scene& s) {
  Image im(s.width, s.height, s.background);
  for (const auto& item : s.items) std::visit(RasterWriter{im}, item);
  return im;
}

Scene no_data_scene(const std::string& title, const std::string& message, int64_t width, int64_t height) {
  Scene s;
  s.width = width, s.height = height, s.title = title;
  s.rect({.x = 0.5, .y = 0.5, .w = width - 1.0, .h = height - 1.0, .filled = false, .stroke = {0xbb, 0xbb, 0xbb}, .stroke_width = 1});
  s.text({.x = 16, .y = 24, .text = title, .bold = true});
  s.text({.x = width / 2.0, .y = height / 2.0 + 8, .text = message, .colour = {0x77, 0x77, 0x77}, .anchor = Anchor::middle});
  return s;
}

}  // namespace kiln::report
