#include "data/csv_parse.h"

#include <charconv>
#include <cmath>

#include "tensor/check.h"
#include "tensor/files.h"

namespace kiln {

CsvReader::CsvReader(const std::string& path) : path_(path), text_(read_file(path, "the CSV file")) {
  // A UTF-8 byte order mark (spreadsheets write one) is not part of the first column's name.
  if (text_.rfind("\xEF\xBB\xBF", 0) == 0) pos_ = 3;
}

std::string CsvReader::where() const { return path_ + ":" + std::to_string(record_line_); }

bool CsvReader::next(std::vector<std::string>& fields) {
  fields.clear();
  // Blank lines (LF or CRLF alone) separate nothing.
  while (pos_ < text_.size() && (text_[pos_] == '\n' || (text_[pos_] == '\r' && pos_ + 1 < text_.size() &&
                                                          text_[pos_ + 1] == '\n'))) {
    pos_ += text_[pos_] == '\r' ? 2 : 1;
    ++line_;
  }
  if (pos_ >= text_.size()) return false;
  record_line_ = line_;
  std::string field;
  while (true) {
    field.clear();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      const int64_t opened = line_;
      ++pos_;
      while (true) {
        if (pos_ >= text_.size())
          throw Error(path_ + ":" + std::to_string(opened) + ": a quoted field is never closed (a \" without its pair)");
        const char c = text_[pos_++];
        if (c == '"') {
          if (pos_ < text_.size() && text_[pos_] == '"') {
            field += '"';
            ++pos_;
            continue;
          }
          break;
        }
        if (c == '\n') ++line_;
        field += c;
      }
      if (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' &&
          !(text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n'))
        throw Error(path_ + ":" + std::to_string(line_) + ": text after a closing quote (expected a comma or the end of " +
                    "the line; write a quote inside a quoted field as \"\")");
    } else {
      while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n') {
        if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') break;
        if (text_[pos_] == '"')
          throw Error(path_ + ":" + std::to_string(line_) + ": a quote inside an unquoted field (quote the whole field " +
                      "and double the quote: \"a \"\"b\"\"\")");
        field += text_[pos_++];
      }
    }
    fields.push_back(field);
    if (pos_ >= text_.size()) return true;
    if (text_[pos_] == ',') {
      ++pos_;
      continue;
    }
    pos_ += text_[pos_] == '\r' ? 2 : 1;  // the end of the record
    ++line_;
    return true;
  }
}

bool parse_number(const std::string& field, float& out) {
  size_t b = 0, e = field.size();
  while (b < e && (field[b] == ' ' || field[b] == '\t')) ++b;
  while (e > b && (field[e - 1] == ' ' || field[e - 1] == '\t')) --e;
  if (b < e && field[b] == '+') ++b;  // from_chars takes no leading '+'
  if (b == e) return false;
  double v = 0;
  const auto [end, ec] = std::from_chars(field.data() + b, field.data() + e, v);
  if (ec != std::errc() || end != field.data() + e || !std::isfinite(v) || std::fabs(v) > 3.4e38) return false;
  out = static_cast<float>(v);
  return true;
}

std::string column_list(const std::vector<std::string>& names) {
  std::string s;
  for (size_t k = 0; k < names.size(); ++k) {
    const bool quote = names[k].empty() || names[k].find_first_of(", ") != std::string::npos;
    s += (k ? ", " : "") + (quote ? "\"" + names[k] + "\"" : names[k]);
  }
  return s;
}

}  // namespace kiln
