#include "pep/name.hpp"

#include <algorithm>
#include <charconv>

#include "pep/pychar.hpp"

namespace strata::pep {

namespace {

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// Python's repr() of a str, as packaging's error messages quote file names with {!r}.
std::string py_repr(std::string_view text) {
  bool has_single = text.find('\'') != std::string_view::npos;
  bool has_double = text.find('"') != std::string_view::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += quote;
  return out;
}

// packaging's `^[\w._]+\Z` for the name part of a wheel file name.
bool is_wheel_name_part(std::string_view text) {
  if (text.empty()) return false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t code = 0;
    pos += utf8_decode(text, pos, code);
    if (code != '.' && !py_is_word_code(code)) return false;
  }
  return true;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t at = text.find(sep, start);
    if (at == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

}  // namespace

std::string normalize_name(std::string_view name) {
  std::string lowered = py_lower(name);
  std::string out;
  out.reserve(lowered.size());
  for (char c : lowered) {
    bool separator = c == '-' || c == '_' || c == '.';
    if (separator) {
      if (out.empty() || out.back() != '-') out += '-';
    } else {
      out += c;
    }
  }
  return out;
}

bool is_valid_name(std::string_view name) {
  if (name.empty()) return false;
  if (!is_ascii_alnum(name.front()) || !is_ascii_alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_ascii_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

Result<WheelFilename> WheelFilename::parse(std::string_view filename) {
  if (!filename.ends_with(".whl")) {
    return fail(ErrorKind::usage, "Invalid wheel filename (extension must be '.whl'): " + py_repr(filename));
  }
  std::string_view stem = filename.substr(0, filename.size() - 4);
  auto dashes = std::count(stem.begin(), stem.end(), '-');
  if (dashes != 4 && dashes != 5) {
    return fail(ErrorKind::usage, "Invalid wheel filename (wrong number of parts): " + py_repr(stem));
  }
  std::vector<std::string_view> parts = split(stem, '-');
  if (dashes == 4) {
    // Keep the three tag fields together as the last part, as split("-", 2) does.
    std::size_t tag_start = parts[0].size() + parts[1].size() + 2;
    parts.resize(2);
    parts.push_back(stem.substr(tag_start));
  } else {
    std::size_t tag_start = parts[0].size() + parts[1].size() + parts[2].size() + 3;
    parts.resize(3);
    parts.push_back(stem.substr(tag_start));
  }

  std::string_view name_part = parts[0];
  if (name_part.find("__") != std::string_view::npos || !is_wheel_name_part(name_part)) {
    return fail(ErrorKind::usage, "Invalid project name: " + py_repr(stem));
  }
  WheelFilename result;
  result.name = normalize_name(name_part);

  auto version = Version::parse(parts[1]);
  if (!version) {
    return fail(ErrorKind::usage, "Invalid wheel filename (invalid version): " + py_repr(stem));
  }
  result.version = *version;

  if (dashes == 5) {
    std::string_view build = parts[2];
    std::size_t digits = 0;
    while (digits < build.size() && is_ascii_digit(build[digits])) ++digits;
    if (digits == 0) {
      return fail(ErrorKind::usage, "Invalid build number: " + std::string(build) + " in " + py_repr(stem));
    }
    std::uint64_t number = 0;
    auto [ptr, ec] = std::from_chars(build.data(), build.data() + digits, number);
    if (ec != std::errc()) {
      return fail(ErrorKind::usage,
                  "Invalid build number (too large): " + std::string(build) + " in " + py_repr(stem));
    }
    std::string_view rest = build.substr(digits);
    // `(.*)` stops at a line break.
    rest = rest.substr(0, rest.find('\n'));
    result.build = std::pair{number, std::string(rest)};
  }

  std::vector<std::vector<std::string_view>> components;
  for (std::string_view component : split(parts.back(), '-')) {
    components.push_back(split(component, '.'));
    for (std::string_view piece : components.back()) {
      if (piece.empty()) {
        return fail(ErrorKind::usage, "Invalid wheel filename (invalid tag component): " + py_repr(stem));
      }
    }
  }
  if (components.size() != 3) {
    return fail(ErrorKind::usage, "Invalid wheel filename (invalid tag component): " + py_repr(stem));
  }
  for (std::string_view interpreter : components[0]) {
    if (!py_is_identifier(interpreter)) {
      return fail(ErrorKind::usage, "Invalid wheel filename (invalid tag component): " + py_repr(stem));
    }
  }
  for (std::string_view interpreter : components[0]) {
    for (std::string_view abi : components[1]) {
      for (std::string_view platform : components[2]) {
        Tag tag{py_lower(interpreter), py_lower(abi), py_lower(platform)};
        if (std::find(result.tags.begin(), result.tags.end(), tag) == result.tags.end()) {
          result.tags.push_back(std::move(tag));
        }
      }
    }
  }
  return result;
}

Result<SdistFilename> SdistFilename::parse(std::string_view filename) {
  std::string_view stem;
  if (filename.ends_with(".tar.gz")) {
    stem = filename.substr(0, filename.size() - 7);
  } else if (filename.ends_with(".zip")) {
    stem = filename.substr(0, filename.size() - 4);
  } else {
    return fail(ErrorKind::usage,
                "Invalid sdist filename (extension must be '.tar.gz' or '.zip'): " + py_repr(filename));
  }
  std::size_t dash = stem.rfind('-');
  if (dash == std::string_view::npos) {
    return fail(ErrorKind::usage, "Invalid sdist filename: " + py_repr(filename));
  }
  if (dash == 0) {
    return fail(ErrorKind::usage, "Invalid sdist filename (empty project name): " + py_repr(filename));
  }
  SdistFilename result;
  result.name = normalize_name(stem.substr(0, dash));
  auto version = Version::parse(stem.substr(dash + 1));
  if (!version) {
    return fail(ErrorKind::usage, "Invalid sdist filename (invalid version): " + py_repr(filename));
  }
  result.version = *version;
  return result;
}

}  // namespace strata::pep
