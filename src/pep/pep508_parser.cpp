#include "pep/pep508_parser.hpp"

#include <array>
#include <cassert>

#include "pep/pychar.hpp"
#include "pep/pytext.hpp"

namespace strata::pep {

namespace {

constexpr std::size_t no_match = Tokenizer::npos;

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Case-insensitive (ASCII) literal match at `pos`.
bool match_word_ci(std::string_view s, std::size_t pos, std::string_view word) {
  if (pos + word.size() > s.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (ascii_lower(s[pos + i]) != word[i]) return false;
  }
  return true;
}

std::size_t skip_digits(std::string_view s, std::size_t pos) {
  while (pos < s.size() && is_digit(s[pos])) ++pos;
  return pos;
}

std::size_t skip_py_space(std::string_view s, std::size_t pos) {
  while (std::size_t n = py_space_at(s, pos)) pos += n;
  return pos;
}

bool is_sep(std::string_view s, std::size_t pos) {
  return pos < s.size() && (s[pos] == '-' || s[pos] == '_' || s[pos] == '.');
}

// `[-_\.]?` then the first of `words` that matches; returns the end or no_match.
std::size_t match_sep_word(std::string_view s, std::size_t pos,
                           std::initializer_list<std::string_view> words) {
  for (std::size_t start : {is_sep(s, pos) ? pos + 1 : no_match, pos}) {
    if (start == no_match) continue;
    for (std::string_view word : words) {
      if (match_word_ci(s, start, word)) return start + word.size();
    }
  }
  return no_match;
}

// `[-_\.]?[0-9]*`
std::size_t match_sep_number(std::string_view s, std::size_t pos) {
  if (is_sep(s, pos)) ++pos;
  return skip_digits(s, pos);
}

std::size_t match_pre(std::string_view s, std::size_t pos) {
  std::size_t end = match_sep_word(s, pos, {"alpha", "beta", "preview", "pre", "a", "b", "c", "rc"});
  return end == no_match ? pos : match_sep_number(s, end);
}

std::size_t match_post(std::string_view s, std::size_t pos) {
  if (pos + 1 < s.size() && s[pos] == '-' && is_digit(s[pos + 1])) return skip_digits(s, pos + 1);
  std::size_t end = match_sep_word(s, pos, {"post", "rev", "r"});
  return end == no_match ? pos : match_sep_number(s, end);
}

std::size_t match_dev(std::string_view s, std::size_t pos) {
  std::size_t end = match_sep_word(s, pos, {"dev"});
  return end == no_match ? pos : match_sep_number(s, end);
}

bool is_local_char(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return false;
  char c = ascii_lower(s[pos]);
  return (c >= 'a' && c <= 'z') || is_digit(c);
}

// `\+[a-z0-9]+(?:[-_\.][a-z0-9]+)*`, case-insensitive or not.
std::size_t match_local(std::string_view s, std::size_t pos, bool ignore_case) {
  auto local_char = [&](std::size_t p) {
    if (p >= s.size()) return false;
    char c = s[p];
    if (!ignore_case && c >= 'A' && c <= 'Z') return false;
    return is_local_char(s, p);
  };
  if (pos >= s.size() || s[pos] != '+' || !local_char(pos + 1)) return pos;
  std::size_t p = pos + 1;
  while (local_char(p)) ++p;
  while (is_sep(s, p) && local_char(p + 1)) {
    p += 1;
    while (local_char(p)) ++p;
  }
  return p;
}

// `\s* v? ([0-9]+!)? [0-9]+(\.[0-9]+)*` (at least `min_parts` release parts).
std::size_t match_version_core(std::string_view s, std::size_t pos, int min_parts) {
  pos = skip_py_space(s, pos);
  if (pos < s.size() && (s[pos] == 'v' || s[pos] == 'V')) ++pos;
  std::size_t epoch_end = skip_digits(s, pos);
  if (epoch_end > pos && epoch_end < s.size() && s[epoch_end] == '!') pos = epoch_end + 1;
  std::size_t end = skip_digits(s, pos);
  if (end == pos) return no_match;
  int parts = 1;
  while (end + 1 < s.size() && s[end] == '.' && is_digit(s[end + 1])) {
    end = skip_digits(s, end + 1);
    ++parts;
  }
  return parts >= min_parts ? end : no_match;
}

// packaging's Specifier._specifier_regex_str, matched (not fullmatched) at `pos`.
std::size_t match_specifier(std::string_view s, std::size_t pos) {
  std::string_view rest = s.substr(pos);
  if (rest.starts_with("===")) {
    std::size_t p = skip_py_space(s, pos + 3);
    while (p < s.size() && py_space_at(s, p) == 0 && s[p] != ';' && s[p] != ')') {
      char32_t code = 0;
      p += utf8_decode(s, p, code);
    }
    return p - pos;
  }
  if (rest.starts_with("==") || rest.starts_with("!=")) {
    std::size_t p = match_version_core(s, pos + 2, 1);
    if (p == no_match) return no_match;
    if (s.substr(p).starts_with(".*")) return p + 2 - pos;
    p = match_pre(s, p);
    p = match_post(s, p);
    p = match_dev(s, p);
    p = match_local(s, p, true);
    return p - pos;
  }
  std::size_t op_len = 0;
  int min_parts = 1;
  if (rest.starts_with("~=")) {
    op_len = 2;
    min_parts = 2;
  } else if (rest.starts_with("<=") || rest.starts_with(">=")) {
    op_len = 2;
  } else if (rest.starts_with("<") || rest.starts_with(">")) {
    op_len = 1;
  } else {
    return no_match;
  }
  std::size_t p = match_version_core(s, pos + op_len, min_parts);
  if (p == no_match) return no_match;
  p = match_pre(s, p);
  p = match_post(s, p);
  p = match_dev(s, p);
  return p - pos;
}

// `\b(word)\b` for the first word that matches.
std::size_t match_keyword(std::string_view s, std::size_t pos,
                          std::initializer_list<std::string_view> words) {
  if (!py_word_boundary(s, pos)) return no_match;
  for (std::string_view word : words) {
    if (s.substr(pos).starts_with(word) && py_word_boundary(s, pos + word.size())) {
      return word.size();
    }
  }
  return no_match;
}

std::size_t match_variable(std::string_view s, std::size_t pos) {
  // The alternatives of packaging's VARIABLE rule, in order, with `[._]` spelled out.
  return match_keyword(s, pos,
                       {"python_version",
                        "python_full_version",
                        "os.name",
                        "os_name",
                        "sys.platform",
                        "sys_platform",
                        "platform_release",
                        "platform_system",
                        "platform.version",
                        "platform_version",
                        "platform.machine",
                        "platform_machine",
                        "platform.python_implementation",
                        "platform_python_implementation",
                        "python_implementation",
                        "implementation_name",
                        "implementation_version",
                        "extras",
                        "extra",
                        "dependency_groups"});
}

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == '_' || c == '-';
}

// `\b[a-zA-Z0-9][a-zA-Z0-9._-]*\b`, backtracking to the longest prefix ending at a boundary.
std::size_t match_identifier(std::string_view s, std::size_t pos) {
  if (pos >= s.size() || !py_word_boundary(s, pos)) return no_match;
  char first = s[pos];
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || is_digit(first))) {
    return no_match;
  }
  std::size_t end = pos + 1;
  while (end < s.size() && is_identifier_char(s[end])) ++end;
  for (; end > pos; --end) {
    if (py_word_boundary(s, end)) return end - pos;
  }
  return no_match;
}

}  // namespace

std::string format_syntax_error(const SyntaxError& error, std::string_view source) {
  std::size_t start = code_point_index(source, error.span_start);
  std::size_t end = code_point_index(source, error.span_end);
  std::string marker(start, ' ');
  if (end > start) marker.append(end - start, '~');
  marker += '^';
  return error.message + "\n    " + std::string(source) + "\n    " + marker;
}

std::size_t Tokenizer::match(Rule rule) const {
  std::string_view s = source_;
  std::size_t pos = position_;
  auto single = [&](char c) -> std::size_t { return pos < s.size() && s[pos] == c ? 1 : no_match; };
  switch (rule) {
    case Rule::left_parenthesis:
      return single('(');
    case Rule::right_parenthesis:
      return single(')');
    case Rule::left_bracket:
      return single('[');
    case Rule::right_bracket:
      return single(']');
    case Rule::semicolon:
      return single(';');
    case Rule::comma:
      return single(',');
    case Rule::at:
      return single('@');
    case Rule::quoted_string: {
      if (pos >= s.size() || (s[pos] != '\'' && s[pos] != '"')) return no_match;
      std::size_t close = s.find(s[pos], pos + 1);
      return close == std::string_view::npos ? no_match : close + 1 - pos;
    }
    case Rule::op: {
      static constexpr std::array<std::string_view, 8> ops = {"===", "==", "~=", "!=", "<=", ">=", "<", ">"};
      for (std::string_view op : ops) {
        if (s.substr(pos).starts_with(op)) return op.size();
      }
      return no_match;
    }
    case Rule::boolop:
      return match_keyword(s, pos, {"or", "and"});
    case Rule::in:
      return match_keyword(s, pos, {"in"});
    case Rule::not_:
      return match_keyword(s, pos, {"not"});
    case Rule::variable:
      return match_variable(s, pos);
    case Rule::specifier:
      return match_specifier(s, pos);
    case Rule::url: {
      std::size_t end = pos;
      while (end < s.size() && s[end] != ' ' && s[end] != '\t') ++end;
      return end > pos ? end - pos : no_match;
    }
    case Rule::identifier:
      return match_identifier(s, pos);
    case Rule::version_prefix_trail:
      return s.substr(pos).starts_with(".*") ? 2 : no_match;
    case Rule::version_local_label_trail: {
      std::size_t end = match_local(s, pos, false);
      return end > pos ? end - pos : no_match;
    }
    case Rule::ws: {
      std::size_t end = pos;
      while (end < s.size() && (s[end] == ' ' || s[end] == '\t')) ++end;
      return end > pos ? end - pos : no_match;
    }
    case Rule::end:
      return pos == s.size() ? 0 : no_match;
  }
  return no_match;
}

bool Tokenizer::check(Rule rule, bool peek) {
  assert(!has_next_);
  std::size_t length = match(rule);
  if (length == no_match) return false;
  if (!peek) {
    next_ = Token{rule, source_.substr(position_, length), position_};
    has_next_ = true;
  }
  return true;
}

Token Tokenizer::read() {
  assert(has_next_);
  Token token = next_;
  position_ += token.text.size();
  has_next_ = false;
  return token;
}

void Tokenizer::consume(Rule rule) {
  if (check(rule)) read();
}

std::expected<Token, SyntaxError> Tokenizer::expect(Rule rule, std::string_view expected) {
  if (!check(rule)) return std::unexpected(error("Expected " + std::string(expected)));
  return read();
}

SyntaxError Tokenizer::error(std::string message, std::size_t span_start, std::size_t span_end) const {
  return SyntaxError{std::move(message), span_start == npos ? position_ : span_start,
                     span_end == npos ? position_ : span_end};
}

}  // namespace strata::pep
