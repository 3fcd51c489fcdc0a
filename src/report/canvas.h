#pragma once
// Raster drawing on an Image, with simple anti-aliasing: each primitive computes, per pixel,
// the fraction of the pixel it covers (0..1) and blends its colour in by that fraction.
// Coordinates are in pixels, continuous: pixel (x, y) is the square [x, x+1) × [y, y+1).
#include <utility>
#include <vector>

#include "report/image.h"

namespace kiln::report {

using Point = std::pair<double, double>;

// Blends c into pixel (x, y) with weight alpha in [0, 1]; pixels outside are ignored.
void blend(Image& image, int64_t x, int64_t y, Rgb c, double alpha);

// Axis-aligned rectangle; partly covered edge pixels get a partial blend.
void fill_rect(Image& image, double x, double y, double w, double h, Rgb c, double alpha = 1);
// The outline of a rectangle, `width` pixels thick, inside the rectangle.
void stroke_rect(Image& image, double x, double y, double w, double h, Rgb c, double width = 1);

// A polyline of the given width. Coverage of a pixel = clamp(width/2 + 1/2 - d, 0, 1), with d
// the distance from the pixel centre to the nearest segment: a 1-pixel ramp at the edge. The
// coverage of all segments is combined with max() before blending, so joints are not drawn twice.
// dash > 0 draws dashes of that length with gaps of `gap`, measured along the line.
void stroke_polyline(Image& image, const std::vector<Point>& points, Rgb c, double width, double dash = 0,
                     double gap = 0);

void fill_circle(Image& image, double cx, double cy, double r, Rgb c);

// Copies src with its top-left corner at (x, y), clipped to the image.
void draw_image(Image& image, const Image& src, int64_t x, int64_t y);

}  // namespace kiln::report
