#pragma once
// Python's character classes on UTF-8 text, for parsers that must match what the regular
// expressions and str methods of the pinned `packaging` accept. Non-ASCII classification
// covers Latin, Greek and Cyrillic exactly and approximates elsewhere.

#include <cstddef>
#include <string>
#include <string_view>

namespace strata::pep {

/// Decodes the UTF-8 sequence at `pos`; returns its byte length (1 for an invalid byte, whose
/// code is then the byte value) and sets `code`. Returns 0 at or past the end.
std::size_t utf8_decode(std::string_view text, std::size_t pos, char32_t& code);
/// Appends the UTF-8 encoding of `code` to `out`.
void utf8_append(std::string& out, char32_t code);
/// Number of code points in `text` before byte offset `end` (Python string index).
std::size_t code_point_index(std::string_view text, std::size_t end);

/// Whether `code` is a Python regex `\w` character (str.isalnum() or "_").
bool py_is_word_code(char32_t code);
/// Whether a regex `\b` holds at byte offset `pos` of `text`.
bool py_word_boundary(std::string_view text, std::size_t pos);
/// str.lower() (one-to-one mappings only).
std::string py_lower(std::string_view text);
/// str.isidentifier().
bool py_is_identifier(std::string_view text);

}  // namespace strata::pep
