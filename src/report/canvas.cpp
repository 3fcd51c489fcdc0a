#include "report/canvas.h"

#include <algorithm>
#include <cmath>

namespace kiln::report {

void blend(Image& image, int64_t x, int64_t y, Rgb c, double alpha) {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height || alpha <= 0) return;
  image.set(x, y, alpha >= 1 ? c : mix(image.at(x, y), c, alpha));
}

namespace {

// Length of the overlap of [a0, a1) with the pixel span [p, p + 1).
double overlap(double a0, double a1, int64_t p) {
  return std::max(0.0, std::min(a1, static_cast<double>(p + 1)) - std::max(a0, static_cast<double>(p)));
}

}  // namespace

void fill_rect(Image& image, double x, double y, double w, double h, Rgb c, double alpha) {
  if (w <= 0 || h <= 0) return;
  const int64_t x0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(x)));
  const int64_t x1 = std::min<int64_t>(image.width, static_cast<int64_t>(std::ceil(x + w)));
  const int64_t y0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(y)));
  const int64_t y1 = std::min<int64_t>(image.height, static_cast<int64_t>(std::ceil(y + h)));
  for (int64_t py = y0; py < y1; ++py) {
    const double cy = overlap(y, y + h, py);
    for (int64_t px = x0; px < x1; ++px) blend(image, px, py, c, alpha * cy * overlap(x, x + w, px));
  }
}

void stroke_rect(Image& image, double x, double y, double w, double h, Rgb c, double width) {
  fill_rect(image, x, y, w, width, c);
  fill_rect(image, x, y + h - width, w, width, c);
  fill_rect(image, x, y + width, width, h - 2 * width, c);
  fill_rect(image, x + w - width, y + width, width, h - 2 * width, c);
}

void stroke_polyline(Image& image, const std::vector<Point>& pts, Rgb c, double width, double dash, double gap) {
  if (pts.empty() || image.empty()) return;
  const double hw = width / 2;
  // Bounding box of the whole line, padded by the half-width and the ramp.
  double bx0 = pts[0].first, bx1 = bx0, by0 = pts[0].second, by1 = by0;
  for (const auto& [x, y] : pts) bx0 = std::min(bx0, x), bx1 = std::max(bx1, x), by0 = std::min(by0, y), by1 = std::max(by1, y);
  const int64_t x0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(bx0 - hw - 1)));
  const int64_t x1 = std::min<int64_t>(image.width, static_cast<int64_t>(std::ceil(bx1 + hw + 1)));
  const int64_t y0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(by0 - hw - 1)));
  const int64_t y1 = std::min<int64_t>(image.height, static_cast<int64_t>(std::ceil(by1 + hw + 1)));
  if (x0 >= x1 || y0 >= y1) return;
  const int64_t mw = x1 - x0;
  std::vector<float> cover(static_cast<size_t>(mw * (y1 - y0)), 0.0f);

  double along = 0;  // distance along the line at the start of the segment, for dashes
  const size_t segments = pts.size() == 1 ? 1 : pts.size() - 1;
  for (size_t s = 0; s < segments; ++s) {
    const auto [ax, ay] = pts[s];
    const auto [bx, by] = pts.size() == 1 ? pts[0] : pts[s + 1];
    const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy, len = std::sqrt(len2);
    const int64_t sx0 = std::max(x0, static_cast<int64_t>(std::floor(std::min(ax, bx) - hw - 1)));
    const int64_t sx1 = std::min(x1, static_cast<int64_t>(std::ceil(std::max(ax, bx) + hw + 1)));
    const int64_t sy0 = std::max(y0, static_cast<int64_t>(std::floor(std::min(ay, by) - hw - 1)));
    const int64_t sy1 = std::min(y1, static_cast<int64_t>(std::ceil(std::max(ay, by) + hw + 1)));
    for (int64_t py = sy0; py < sy1; ++py)
      for (int64_t px = sx0; px < sx1; ++px) {
        // Project the pixel centre p onto the segment: t = (p - a)·(b - a) / |b - a|², clamped.
        const double qx = px + 0.5 - ax, qy = py + 0.5 - ay;
        const double t = len2 > 0 ? std::clamp((qx * dx + qy * dy) / len2, 0.0, 1.0) : 0.0;
        if (dash > 0) {
          const double pos = std::fmod(along + t * len, dash + gap);
          if (pos > dash) continue;
        }
        const double ex = qx - t * dx, ey = qy - t * dy;
        const double cov = std::clamp(hw + 0.5 - std::sqrt(ex * ex + ey * ey), 0.0, 1.0);
        float& m = cover[static_cast<size_t>((py - y0) * mw + (px - x0))];
        m = std::max(m, static_cast<float>(cov));
      }
    along += len;
  }
  for (int64_t py = y0; py < y1; ++py)
    for (int64_t px = x0; px < x1; ++px) blend(image, px, py, c, cover[static_cast<size_t>((py - y0) * mw + (px - x0))]);
}

void fill_circle(Image& image, double cx, double cy, double r, Rgb c) {
  const int64_t x0 = static_cast<int64_t>(std::floor(cx - r - 1)), x1 = static_cast<int64_t>(std::ceil(cx + r + 1));
  const int64_t y0 = static_cast<int64_t>(std::floor(cy - r - 1)), y1 = static_cast<int64_t>(std::ceil(cy + r + 1));
  for (int64_t py = y0; py < y1; ++py)
    for (int64_t px = x0; px < x1; ++px) {
      const double d = std::hypot(px + 0.5 - cx, py + 0.5 - cy);
      blend(image, px, py, c, std::clamp(r + 0.5 - d, 0.0, 1.0));
    }
}

void draw_image(Image& image, const Image& src, int64_t x, int64_t y) {
  for (int64_t sy = 0; sy < src.height; ++sy)
    for (int64_t sx = 0; sx < src.width; ++sx) {
      const int64_t px = x + sx, py = y + sy;
      if (px >= 0 && py >= 0 && px < image.width && py < image.height) image.set(px, py, src.at(sx, sy));
    }
}

}  // namespace kiln::report
