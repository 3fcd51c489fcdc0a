#include "report/html.h"

#include "report/base64.h"
#include "report/png.h"

namespace kiln::report {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string png_data_uri(const Image& image) { return "data:image/png;base64," + base64_encode(encode_png(image)); }

std::string to_html(const HtmlTable& t) {
  std::string h = "<table";
  if (!t.id.empty()) h += " id=\"" + escape(t.id) + "\"";
  if (!t.css_class.empty()) h += " class=\"" + escape(t.css_class) + "\"";
  h += ">\n<thead><tr>";
  auto num = [&](size_t i) { return i < t.numeric.size() && t.numeric[i]; };
  auto cell = [&](const char* tag, size_t i, bool body) {
    std::string cls = num(i) ? "num" : "";
    if (body && i < t.column_classes.size() && !t.column_classes[i].empty()) cls += (cls.empty() ? "" : " ") + t.column_classes[i];
    return "<" + std::string(tag) + (cls.empty() ? "" : " class=\"" + escape(cls) + "\"") + ">";
  };
  for (size_t i = 0; i < t.header.size(); ++i) h += cell("th", i, false) + escape(t.header[i]) + "</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const bool cls = r < t.row_classes.size() && !t.row_classes[r].empty();
    h += cls ? "<tr class=\"" + escape(t.row_classes[r]) + "\">" : "<tr>";
    for (size_t i = 0; i < t.rows[r].size(); ++i) {
      const std::string href = r < t.links.size() && i < t.links[r].size() ? t.links[r][i] : "";
      const std::string text = escape(t.rows[r][i]);
      h += cell("td", i, true) + (href.empty() ? text : "<a href="" + escape(href) + "">" + text + "</a>") + "</td>";
    }
    h += "</tr>\n";
  }
  return h + "</tbody></table>\n";
}

}  // namespace kiln::report
