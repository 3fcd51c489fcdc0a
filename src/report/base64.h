#pragma once
// Base64 (RFC 4648, with '=' padding): how PNGs ride inside the HTML as data: URIs.
#include <string>
#include <string_view>

namespace kiln::report {

std::string base64_encode(std::string_view bytes);

}  // namespace kiln::report
