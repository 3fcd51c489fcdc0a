#include "report/text.h"

#include <cmath>
#include <algorithm>
#include <cstdio>

namespace kiln::report {

std::vector<char32_t> utf8_decode(std::string_view s) {
  std::vector<char32_t> out;
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int extra = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
    char32_t cp = extra == 0 ? b : extra == 1 ? (b & 0x1f) : extra == 2 ? (b & 0x0f) : (b & 0x07);
    bool ok = extra >= 0 && i + static_cast<size_t>(extra) < s.size();
    for (int k = 1; ok && k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((c >> 6) != 2) ok = false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

int64_t utf8_length(std::string_view s) {
  int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) >> 6) != 2;  // count the non-continuation bytes
  return n;
}

std::string utf8_truncate(std::string_view s, int64_t max_chars) {
  if (utf8_length(s) <= max_chars) return std::string(s);
  if (max_chars <= 0) return "";
  // Keep max_chars - 1 code points: stop at the start byte of code point number max_chars - 1.
  int64_t n = 0;
  size_t cut = 0;
  for (; cut < s.size(); ++cut) {
    if ((static_cast<unsigned char>(s[cut]) >> 6) != 2) {
      if (n == max_chars - 1) break;
      ++n;
    }
  }
  return std::string(s.substr(0, cut)) + "\u2026";
}

std::string pad_left(std::string_view s, int64_t width) {
  const int64_t n = utf8_length(s);
  return std::string(static_cast<size_t>(std::max<int64_t>(0, width - n)), ' ') + std::string(s);
}

std::string pad_right(std::string_view s, int64_t width) {
  const int64_t n = utf8_length(s);
  return std::string(s) + std::string(static_cast<size_t>(std::max<int64_t>(0, width - n)), ' ');
}

std::string fixed(double v, int decimals, std::string_view none) {
  if (!std::isfinite(v)) return std::string(none);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string out = buf;
  // "-0.00" reads as a sign that is not there; a value that rounds to zero is plain zero.
  if (out[0] == '-' && out.find_first_not_of("-0.") == std::string::npos) out.erase(0, 1);
  return out;
}

std::string percent(double fraction, int decimals, std::string_view none) {
  if (!std::isfinite(fraction)) return std::string(none);
  return fixed(100 * fraction, decimals) + "%";
}

std::string thousands(int64_t v) {
  const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  std::string digits = std::to_string(magnitude), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string si(double v) {
  if (!std::isfinite(v)) return "n/a";
  const char* units[] = {"", "K", "M", "G", "T", "P"};
  int u = 0;
  double a = std::fabs(v);
  while (a >= 1000 && u < 5) a /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : a < 10 ? "%.2f%s" : a < 100 ? "%.1f%s" : "%.0f%s", a, units[u]);
  return (v < 0 ? "-" : "") + std::string(buf);
}

std::string duration(double s, std::string_view none) {
  if (!std::isfinite(s) || s < 0) return std::string(none);
  char buf[64];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  } else if (s < 3600) {
    const auto t = static_cast<int64_t>(std::lround(s));
    std::snprintf(buf, sizeof buf, "%lld min %lld s", static_cast<long long>(t / 60), static_cast<long long>(t % 60));
  } else {
    const auto m = static_cast<int64_t>(std::lround(s / 60));
    std::snprintf(buf, sizeof buf, "%lld h %lld min", static_cast<long long>(m / 60), static_cast<long long>(m % 60));
  }
  return buf;
}

std::string class_name(const std::vector<std::string>& names, int64_t k) {
  if (k >= 0 && k < static_cast<int64_t>(names.size()) && !names[static_cast<size_t>(k)].empty())
    return names[static_cast<size_t>(k)];
  return std::to_string(k);
}

}  // namespace kiln::report
