#pragma once
// Python's notion of whitespace on UTF-8 text, for the parsers that must strip or match
// exactly what `str.strip()` and the regex `\s` of the pinned `packaging` accept.

#include <cstddef>
#include <string_view>

namespace strata::pep {

/// Byte length of the Python whitespace character (str.isspace()) starting at `pos` in `text`,
/// or 0 if the character there is not whitespace (or is not valid UTF-8).
std::size_t py_space_at(std::string_view text, std::size_t pos);

/// Byte length of the Python whitespace character ending at `end` (exclusive), or 0.
std::size_t py_space_before(std::string_view text, std::size_t end);

/// `text` without leading and trailing Python whitespace, as str.strip() does.
std::string_view py_strip(std::string_view text);

/// Whether `text` contains a Python whitespace character anywhere.
bool py_has_space(std::string_view text);

}  // namespace strata::pep
