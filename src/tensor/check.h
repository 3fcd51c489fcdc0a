#pragma once
// Two tiers of errors (see STYLE.md #9):
//  - kiln::Error: bad user input (files, configs, shapes handed to the API). Thrown with context.
//  - KILN_CHECK: broken internal invariants. Stays on in release builds (never a bare assert).
#include <sstream>
#include <stdexcept>
#include <string>

namespace kiln {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void check_failed(const char* cond, const char* file, int line, const std::string& msg);

}  // namespace kiln

#define KILN_CHECK(cond, msg)                                                      \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::ostringstream kiln_check_os_;                                           \
      kiln_check_os_ << msg;                                                       \
      ::kiln::check_failed(#cond, __FILE__, __LINE__, kiln_check_os_.str());       \
    }                                                                              \
  } while (0)
