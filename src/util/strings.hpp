#pragma once
// Small string helpers with no strata knowledge.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::util {

/// ASCII whitespace as Python's str.strip() sees it for ASCII input.
bool is_space(char c);
std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
/// Splits on every occurrence of sep; an empty input gives one empty piece.
std::vector<std::string_view> split(std::string_view s, char sep);
/// Joins pieces with sep.
std::string join(const std::vector<std::string>& pieces, std::string_view sep);
/// Parses a decimal unsigned integer made only of ASCII digits; nullopt on overflow or junk.
std::optional<unsigned long long> parse_uint(std::string_view s);

}  // namespace strata::util
