#pragma once
// Small text helpers shared by the tables, the figures and the HTML: UTF-8 aware lengths and
// truncation (class names may be any UTF-8; a cut must not split a character), and number
// formatting with one spelling of "no value" per output format.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::report {

// Code points of a UTF-8 string; a malformed byte becomes U+FFFD so that nothing is lost silently.
std::vector<char32_t> utf8_decode(std::string_view s);
int64_t utf8_length(std::string_view s);
// At most `max_chars` code points: longer strings keep max_chars - 1 and end in "…".
std::string utf8_truncate(std::string_view s, int64_t max_chars);
// Pads with spaces to `width` code points, on the left (right-aligned) or right.
std::string pad_left(std::string_view s, int64_t width);
std::string pad_right(std::string_view s, int64_t width);

// "%.{decimals}f", or `none` for NaN and infinities.
std::string fixed(double v, int decimals, std::string_view none = "n/a");
// A fraction as a percentage: 0.9731 -> "97.31%".
std::string percent(double fraction, int decimals = 2, std::string_view none = "n/a");
// 1234567 -> "1,234,567".
std::string thousands(int64_t v);
// 1234567 -> "1.23M": FLOP counts and such at a glance.
std::string si(double v);
// Seconds as "42.1 s", "12 min 5 s" or "3 h 20 min".
std::string duration(double seconds, std::string_view none = "n/a");
// The name of class k, or its number when the names are missing.
std::string class_name(const std::vector<std::string>& names, int64_t k);

}  // namespace kiln::report
