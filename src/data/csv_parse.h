#pragma once
// Comma-separated text as RFC 4180 writes it: fields separated by commas, records by LF or
// CRLF; a field in double quotes may hold commas, newlines and doubled quotes ("" is one ").
// Blank lines are skipped. Numbers are parsed separately (parse_number), so that an error can
// name the file, line and column.
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

class CsvReader {
 public:
  // Reads the whole file; throws kiln::Error naming it when it cannot be read.
  explicit CsvReader(const std::string& path);
  // The next record into `fields`; false at the end of the file. Throws kiln::Error naming
  // file and line for a quote left open or text after a closing quote.
  bool next(std::vector<std::string>& fields);
  // The line (1-based) where the record next() last returned starts.
  int64_t line() const { return record_line_; }
  const std::string& path() const { return path_; }
  // "FILE:LINE" of the last record, for messages.
  std::string where() const;

 private:
  std::string path_, text_;
  size_t pos_ = 0;
  int64_t line_ = 1, record_line_ = 0;
};

// The field as a finite number (surrounding spaces allowed); false for anything else (empty,
// text, "nan", "inf", a number too large for a float).
bool parse_number(const std::string& field, float& out);

// "a, b, c" for messages listing columns (each quoted when it holds a comma or space).
std::string column_list(const std::vector<std::string>& names);

}  // namespace kiln
