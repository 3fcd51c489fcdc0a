#pragma once
// A figure as a display list: rectangles, lines, circles, text and embedded images placed in
// pixel coordinates. Charts, the confusion heat map and the image grids are laid out once, as
// a Scene, and drawn by two back ends that read the same list: SVG text (inline in the HTML)
// and a raster Image (the PNG copy). Text is laid out with the bitmap font's metrics, which
// are at least as wide as the SVG's sans-serif at the size we give it, so labels that fit in
// the PNG fit in the SVG too.
#include <string>
#include <variant>
#include <vector>

#include "report/canvas.h"
#include "report/font.h"
#include "report/image.h"

namespace kiln::report {

struct RectItem {
  double x = 0, y = 0, w = 0, h = 0;
  Rgb fill{255, 255, 255};
  bool filled = true;
  Rgb stroke{0, 0, 0};
  double stroke_width = 0;  // 0: no outline
  std::string tooltip{};    // SVG <title>: shown on hover, ignored by the raster
};

struct LineItem {
  std::vector<Point> points{};
  Rgb colour{};
  double width = 2;
  double dash = 0, gap = 0;  // dash > 0: dashed
};

struct CircleItem {
  double cx = 0, cy = 0, r = 3;
  Rgb fill{};
};

struct TextItem {
  double x = 0, y = 0;  // y: the middle of the cap height; x: per anchor
  std::string text{};
  Rgb colour{0x22, 0x22, 0x22};
  int scale = 2;
  Anchor anchor = Anchor::start;
  bool vertical = false, bold = false;
  std::string tooltip{};
};

struct ImageItem {
  double x = 0, y = 0;  // drawn 1:1 with its top-left corner here
  Image image{};
  std::string tooltip{};
};

using SceneItem = std::variant<RectItem, LineItem, CircleItem, TextItem, ImageItem>;

struct Scene {
  int64_t width = 0, height = 0;
  std::string title;  // the SVG's accessible name
  Rgb background{255, 255, 255};
  std::vector<SceneItem> items;

  void rect(RectItem r) { items.emplace_back(std::move(r)); }
  void line(LineItem l) { items.emplace_back(std::move(l)); }
  void circle(CircleItem c) { items.emplace_back(c); }
  void text(TextItem t) { items.emplace_back(std::move(t)); }
  void image(ImageItem i) { items.emplace_back(std::move(i)); }
};

// <svg> element text, scalable (viewBox) and escaped, images as data: PNGs.
std::string scene_svg(const Scene& scene);
Image scene_raster(const Scene& scene);

// A figure that says there is nothing to show, and why.
Scene no_data_scene(const std::string& title, const std::string& message, int64_t width = 640, int64_t height = 160);

}  // namespace kiln::report
