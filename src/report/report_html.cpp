#include "report/report_html.h"

#include <filesystem>

#include "report/html.h"
#include "report/png.h"
#include "tensor/binio.h"

namespace kiln::report {

namespace {

// One style sheet, no external fonts or scripts: the page must look the same offline, and
// print without figures or table rows split across pages.
const char* kStyle = R"css(
:root { --ink: #222; --muted: #666; --line: #ddd; --accent: #0072b2; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
header, nav, main, footer { max-width: 1060px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 28px; margin: 0 0 2px; overflow-wrap: anywhere; }
.sub { color: var(--muted); margin: 0 0 16px; }
h2 { font-size: 21px; margin: 40px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
nav { padding-top: 8px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; white-space: nowrap; }
nav a:hover { text-decoration: underline; }
p.explain { color: #444; max-width: 52em; }
figure { margin: 18px 0 26px; break-inside: avoid; page-break-inside: avoid; }
figure svg, figure img { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; max-width: 60em; }
figcaption a { color: var(--accent); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
th, td { padding: 3px 12px 3px 0; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #ccc; font-weight: 600; }
th.num, td.num { text-align: right; padding-left: 12px; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tr { break-inside: avoid; page-break-inside: avoid; }
tr.total td, tr.first-avg td { border-top: 2px solid #ccc; }
tr.total td { font-weight: 600; }
tr.best td { background: #eaf3fa; }
table.kv td { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; overflow-wrap: anywhere; }
table.kv td:first-child { color: #555; white-space: nowrap; }
td.layer { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; white-space: pre; }
.nodata { color: var(--muted); font-style: italic; }
dl.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; margin: 0 0 18px; }
dl.summary div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; break-inside: avoid; }
dl.summary dt { color: var(--muted); font-size: 12px; }
dl.summary dd { margin: 0; font-size: 19px; font-weight: 600; overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: 12px; padding-top: 24px; padding-bottom: 32px; }
@media print {
  nav { display: none; }
  body { font-size: 10.5pt; }
  header, main, footer { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; margin-top: 24px; }
  figure, dl.summary { break-inside: avoid; page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  .scroll { overflow: visible; }
  @page { margin: 14mm; }
}
)css";

}  // namespace

std::string page_head(const std::string& title) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<title>" + escape(title) + "</title>\n"
         "<link rel=\"icon\" href=\"data:,\">\n"  // no favicon request: the page fetches nothing
         "<style>" + kStyle + "</style>\n</head>\n<body>\n";
}

std::string page_tail() { return "<footer>Written by kiln " KILN_VERSION ". Self-contained: no scripts, nothing fetched.</footer>\n</body>\n</html>\n"; }

std::string figure_html(const std::string& dir, const std::string& name, const Scene& scene, const std::string& caption_html) {
  std::filesystem::create_directories(std::filesystem::path(dir) / "figures");
  write_file_atomic((std::filesystem::path(dir) / "figures" / (name + ".png")).string(), encode_png(scene_raster(scene)));
  return "<figure id=\"fig-" + escape(name) + "\">\n" + scene_svg(scene) + "<figcaption>" +
         caption_html + " <a href=\"figures/" + escape(name) + ".png\">PNG</a></figcaption>\n</figure>\n";
}

std::string no_data_html(const std::string& message) { return "<p class=\"nodata\">" + escape(message) + "</p>\n"; }

}  // namespace kiln::report
