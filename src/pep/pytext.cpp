#include "pep/pytext.hpp"

namespace strata::pep {

namespace {

// The code points for which Python's str.isspace() (and the regex `\s`) is true.
bool is_py_space_code(char32_t c) {
  if (c >= 0x09 && c <= 0x0d) return true;
  if (c >= 0x1c && c <= 0x20) return true;
  if (c == 0x85 || c == 0xa0 || c == 0x1680) return true;
  if (c >= 0x2000 && c <= 0x200a) return true;
  return c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

unsigned char byte(std::string_view text, std::size_t i) { return static_cast<unsigned char>(text[i]); }

// Decodes the UTF-8 sequence at pos; returns its length (0 if invalid) and sets `code`.
std::size_t decode(std::string_view text, std::size_t pos, char32_t& code) {
  if (pos >= text.size()) return 0;
  unsigned char b0 = byte(text, pos);
  std::size_t len = 0;
  if (b0 < 0x80) {
    code = b0;
    return 1;
  }
  if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    code = b0 & 0x1fu;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    code = b0 & 0x0fu;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    code = b0 & 0x07u;
  } else {
    return 0;
  }
  if (pos + len > text.size()) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    unsigned char b = byte(text, pos + i);
    if ((b & 0xc0) != 0x80) return 0;
    code = (code << 6) | (b & 0x3fu);
  }
  return len;
}

}  // namespace

std::size_t py_space_at(std::string_view text, std::size_t pos) {
  char32_t code = 0;
  std::size_t len = decode(text, pos, code);
  return len != 0 && is_py_space_code(code) ? len : 0;
}

std::size_t py_space_before(std::string_view text, std::size_t end) {
  // Whitespace characters are at most 3 bytes long in UTF-8.
  for (std::size_t len = 1; len <= 3 && len <= end; ++len) {
    if (py_space_at(text, end - len) == len) return len;
  }
  return 0;
}

std::string_view py_strip(std::string_view text) {
  while (std::size_t n = py_space_at(text, 0)) text.remove_prefix(n);
  while (std::size_t n = py_space_before(text, text.size())) text.remove_suffix(n);
  return text;
}

bool py_has_space(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (py_space_at(text, i) != 0) return true;
  }
  return false;
}

}  // namespace strata::pep
