#pragma once
// The page frame shared by the run report and the sweep comparison: <head> with the style
// sheet (screen and print), and figures written both inline (SVG) and as figures/NAME.png.
#include <string>

#include "report/scene.h"

namespace kiln::report {

// "<!DOCTYPE html>...<body>" with the title escaped.
std::string page_head(const std::string& title);
std::string page_tail();

// Writes DIR/figures/NAME.png and returns a <figure> with the inline SVG, the caption (HTML,
// already escaped by the caller) and a link to the PNG.
std::string figure_html(const std::string& dir, const std::string& name, const Scene& scene, const std::string& caption_html);

// <p class="nodata">...</p>
std::string no_data_html(const std::string& message);

}  // namespace kiln::report
