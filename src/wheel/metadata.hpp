#pragma once
// A wheel's email-header style metadata files (WHEEL, METADATA: "core metadata").

#include <map>
#include <string>
#include <string_view>

namespace strata::wheel {

/// The headers of `content` up to the first empty line: lower-cased key -> the first value of that
/// key, trimmed. Continuation lines and lines without a colon are skipped; never fails.
std::map<std::string, std::string> parse_headers(std::string_view content);

}  // namespace strata::wheel
