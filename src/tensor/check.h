#pragma once
// Two tiers of errors (see STYLE.md #9):
//  - kiln::Error: bad user input (files, configs, shapes handed to the API). Thrown with
//    context; KILN_REQUIRE throws it from a condition. Every check a user can reach (a value
//    from a file, the shapes of tensors handed to kiln::ops) is of this tier.
//  - KILN_CHECK: broken internal invariants, which no input should be able to reach. Stays on
//    in release builds (never a bare assert); its message says "internal error".
#include <sstream>
#include <stdexcept>
#include <string>

namespace kiln {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void check_failed(const char* cond, const char* file, int line, const std::string& msg);

}  // namespace kiln

// Throws kiln::Error(msg) unless cond: for conditions that user input can break.
#define KILN_REQUIRE(cond, msg)                            \
  do {                                                     \
    if (!(cond)) {                                         \
      std::ostringstream kiln_require_os_;                 \
      kiln_require_os_ << msg;                             \
      throw ::kiln::Error(kiln_require_os_.str());         \
    }                                                      \
  } while (0)

// A path that cannot be reached when the code is right (the end of a table lookup that was
// checked before); [[noreturn]] so that the compiler knows, at -O0 too, nothing follows.
#define KILN_UNREACHABLE(msg)                                                      \
  do {                                                                             \
    std::ostringstream kiln_check_os_;                                             \
    kiln_check_os_ << msg;                                                         \
    ::kiln::check_failed("unreachable", __FILE__, __LINE__, kiln_check_os_.str()); \
  } while (0)

#define KILN_CHECK(cond, msg)                                                      \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::ostringstream kiln_check_os_;                                           \
      kiln_check_os_ << msg;                                                       \
      ::kiln::check_failed(#cond, __FILE__, __LINE__, kiln_check_os_.str());       \
    }                                                                              \
  } while (0)
