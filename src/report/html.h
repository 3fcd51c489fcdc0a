#pragma once
// HTML helpers: escaping (every piece of text from a run goes through escape(): class names,
// config values, layer specs), PNG data: URIs, and key/value and numeric tables.
#include <string>
#include <string_view>
#include <vector>

#include "report/image.h"

namespace kiln::report {

// & < > " ' as entities: safe in element content and in quoted attribute values alike.
std::string escape(std::string_view text);

// "data:image/png;base64,...": the image travels inside the page, nothing to fetch.
std::string png_data_uri(const Image& image);

// A table with a header row; cells are escaped here. `numeric[i]` right-aligns column i.
struct HtmlTable {
  std::vector<std::string> header;
  std::vector<bool> numeric;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row_classes;     // optional class="" per row ("total", ...)
  std::vector<std::string> column_classes;  // optional class="" per body cell of a column ("layer", ...)
  std::vector<std::vector<std::string>> links;  // optional href per body cell (links[row][column])
  std::string id, css_class;
};
std::string to_html(const HtmlTable& table);

}  // namespace kiln::report
