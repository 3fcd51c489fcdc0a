#pragma once
// A compact built-in bitmap font, so that the PNG copies of figures carry their own labels with
// no font files or libraries: 5×7 glyphs (cap height 7 rows, 2 more rows for descenders) on a
// 6-pixel advance, drawn at an integer scale (2 in the figures: 12 px per character, easy to
// read on screen and in print). It covers printable ASCII plus … ± × → −; other characters
// are drawn as a hollow box.
#include <array>
#include <cstdint>
#include <string_view>

#include "report/image.h"

namespace kiln::report {

inline constexpr int kGlyphWidth = 5, kCapHeight = 7, kDescent = 2, kAdvance = 6;

// Row bitmasks (bit 4 = leftmost column) of the 9 rows: 7 above the baseline, 2 below.
using Glyph = std::array<uint8_t, kCapHeight + kDescent>;
const Glyph& glyph(char32_t code_point);

enum class Anchor { start, middle, end };

// Width in pixels of the text at this scale (no trailing gap).
int64_t text_width(std::string_view utf8, int scale);

// Draws text whose cap height is centred on y. x is the left end, centre or right end (anchor).
// Vertical text reads bottom to top (a y-axis label), centred on x, with its anchor along y.
// Bold repeats each glyph one pixel to the right.
void draw_text(Image& image, double x, double y, std::string_view utf8, Rgb colour, int scale, Anchor anchor,
               bool vertical = false, bool bold = false);

}  // namespace kiln::report
