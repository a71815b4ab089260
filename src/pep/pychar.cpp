#include "pep/pychar.hpp"

#include "pep/pytext.hpp"

namespace strata::pep {

namespace {

unsigned char byte_at(std::string_view text, std::size_t i) { return static_cast<unsigned char>(text[i]); }

// Start of the code point that ends at byte offset `end` (exclusive).
std::size_t previous_start(std::string_view text, std::size_t end) {
  std::size_t start = end - 1;
  for (std::size_t back = 0; back < 3 && start > 0 && (byte_at(text, start) & 0xc0) == 0x80; ++back) {
    --start;
  }
  char32_t code = 0;
  if (utf8_decode(text, start, code) == end - start) return start;
  return end - 1;
}

}  // namespace

std::size_t utf8_decode(std::string_view text, std::size_t pos, char32_t& code) {
  if (pos >= text.size()) return 0;
  unsigned char b0 = byte_at(text, pos);
  code = b0;
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  char32_t value = 0;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    value = b0 & 0x1fu;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    value = b0 & 0x0fu;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    value = b0 & 0x07u;
  } else {
    return 1;
  }
  if (pos + len > text.size()) return 1;
  for (std::size_t i = 1; i < len; ++i) {
    unsigned char b = byte_at(text, pos + i);
    if ((b & 0xc0) != 0x80) return 1;
    value = (value << 6) | (b & 0x3fu);
  }
  code = value;
  return len;
}

void utf8_append(std::string& out, char32_t code) {
  auto put = [&out](char32_t b) { out.push_back(static_cast<char>(static_cast<unsigned char>(b))); };
  if (code < 0x80) {
    put(code);
  } else if (code < 0x800) {
    put(0xc0 | (code >> 6));
    put(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    put(0xe0 | (code >> 12));
    put(0x80 | ((code >> 6) & 0x3f));
    put(0x80 | (code & 0x3f));
  } else {
    put(0xf0 | (code >> 18));
    put(0x80 | ((code >> 12) & 0x3f));
    put(0x80 | ((code >> 6) & 0x3f));
    put(0x80 | (code & 0x3f));
  }
}

std::size_t code_point_index(std::string_view text, std::size_t end) {
  std::size_t count = 0;
  std::size_t pos = 0;
  char32_t code = 0;
  while (pos < end && pos < text.size()) {
    pos += utf8_decode(text, pos, code);
    ++count;
  }
  return count;
}

bool py_is_word_code(char32_t c) {
  if (c < 0x80) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
  if (c < 0xc0) {
    return c == 0xaa || c == 0xb2 || c == 0xb3 || c == 0xb5 || c == 0xb9 || c == 0xba ||
           (c >= 0xbc && c <= 0xbe);
  }
  if (c == 0xd7 || c == 0xf7) return false;
  if (c >= 0x2b9 && c <= 0x36f) {
    // Modifier letters are letters; most spacing and combining marks are not.
    return (c >= 0x2b9 && c <= 0x2c1) || c == 0x2c6 || c == 0x2c7 || (c >= 0x2d0 && c <= 0x2d1) ||
           (c >= 0x2e0 && c <= 0x2e4) || c == 0x2ec || c == 0x2ee;
  }
  if (c == 0x37e || c == 0x387 || c == 0x3f6 || (c >= 0x482 && c <= 0x489)) return false;
  char32_t code = c;
  std::string one;
  utf8_append(one, code);
  if (py_space_at(one, 0) != 0) return false;
  if (c >= 0x2000 && c <= 0x206f) return false;  // general punctuation
  if (c >= 0x20a0 && c <= 0x20ff) return false;  // currency, combining marks
  if (c >= 0x2190 && c <= 0x245f) return false;  // arrows, math, technical
  if (c >= 0x2500 && c <= 0x2775) return false;  // box drawing, dingbats
  if (c >= 0x2794 && c <= 0x2bff) return false;  // arrows, symbols
  if (c >= 0x2e00 && c <= 0x2e7f) return false;  // supplemental punctuation
  if (c >= 0x3000 && c <= 0x3004) return false;  // CJK punctuation
  if (c >= 0x3008 && c <= 0x3020) return false;
  if (c >= 0xd800 && c <= 0xf8ff) return false;    // surrogates, private use
  if (c >= 0xfe00 && c <= 0xfe6f) return false;    // variation selectors, forms
  if (c >= 0xff01 && c <= 0xff0f) return false;    // fullwidth punctuation
  if (c >= 0x1f000 && c <= 0x1faff) return false;  // emoji and symbols
  return true;
}

bool py_word_boundary(std::string_view text, std::size_t pos) {
  bool before = false;
  bool after = false;
  char32_t code = 0;
  if (pos > 0) {
    utf8_decode(text, previous_start(text, pos), code);
    before = py_is_word_code(code);
  }
  if (pos < text.size()) {
    utf8_decode(text, pos, code);
    after = py_is_word_code(code);
  }
  return before != after;
}

namespace {

char32_t lower_code(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if ((c >= 0xc0 && c <= 0xde) && c != 0xd7) return c + 32;
  if (c >= 0x100 && c <= 0x137 && c != 0x130) return (c % 2 == 0) ? c + 1 : c;
  if (c >= 0x139 && c <= 0x148) return (c % 2 == 1) ? c + 1 : c;
  if (c >= 0x14a && c <= 0x177) return (c % 2 == 0) ? c + 1 : c;
  if (c == 0x178) return 0xff;
  if (c >= 0x179 && c <= 0x17e) return (c % 2 == 1) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3ab && c != 0x3a2) return c + 32;
  if (c >= 0x410 && c <= 0x42f) return c + 32;
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  if (c >= 0xff21 && c <= 0xff3a) return c + 32;
  return c;
}

}  // namespace

std::string py_lower(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t code = 0;
    std::size_t len = utf8_decode(text, pos, code);
    if (len == 1 && code >= 0x80) {
      out.push_back(text[pos]);  // invalid byte: keep as is
    } else if (code == 0x130) {
      out += "i\xcc\x87";  // U+0130 lowers to "i" + U+0307
    } else {
      utf8_append(out, lower_code(code));
    }
    pos += len;
  }
  return out;
}

bool py_is_identifier(std::string_view text) {
  if (text.empty()) return false;
  std::size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    char32_t code = 0;
    pos += utf8_decode(text, pos, code);
    if (!py_is_word_code(code)) return false;
    if (first && code >= '0' && code <= '9') return false;
    if (first && code >= 0x80 && code < 0xc0) return false;  // ª º are letters, digits are not
    first = false;
  }
  return true;
}

}  // namespace strata::pep
