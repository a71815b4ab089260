#pragma once
// Internal to src/pep: the tokenizer and marker grammar shared by Marker and Requirement,
// mirroring packaging's _tokenizer.py / _parser.py (rules, backtracking, error spans).

#include <cstddef>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace strata::pep {

/// A grammar error: packaging's message and the byte span it underlines.
struct SyntaxError {
  std::string message;
  std::size_t span_start = 0;
  std::size_t span_end = 0;
};

/// Renders an error as str(packaging._tokenizer.ParserSyntaxError): message, the source and a
/// `~~~^` line under the span (in code points).
std::string format_syntax_error(const SyntaxError& error, std::string_view source);

/// The token kinds of packaging's DEFAULT_RULES.
enum class Rule {
  left_parenthesis,
  right_parenthesis,
  left_bracket,
  right_bracket,
  semicolon,
  comma,
  quoted_string,
  op,
  boolop,
  in,
  not_,
  variable,
  specifier,
  at,
  url,
  identifier,
  version_prefix_trail,
  version_local_label_trail,
  ws,
  end,
};

struct Token {
  Rule rule;
  std::string_view text;
  std::size_t position = 0;
};

/// Context-sensitive tokenizer over one source string (positions are byte offsets).
class Tokenizer {
 public:
  explicit Tokenizer(std::string_view source) : source_(source) {}

  std::string_view source() const { return source_; }
  std::size_t position() const { return position_; }

  /// Whether the next token is `rule`; unless `peek`, loads it for read().
  bool check(Rule rule, bool peek = false);
  /// Reads the token loaded by check().
  Token read();
  /// Reads a `rule` token if one is next.
  void consume(Rule rule);
  /// Reads a `rule` token or fails with "Expected <expected>".
  std::expected<Token, SyntaxError> expect(Rule rule, std::string_view expected);
  /// An error spanning [start, end), each defaulting to the current position.
  SyntaxError error(std::string message, std::size_t span_start = npos, std::size_t span_end = npos) const;

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

 private:
  std::size_t match(Rule rule) const;  // match length at position_, or npos

  std::string_view source_;
  std::size_t position_ = 0;
  bool has_next_ = false;
  Token next_{Rule::end, {}, 0};
};

/// A marker operand: an environment variable (canonical name) or a string literal.
struct MarkerVar {
  bool is_variable = false;
  std::string value;
};

/// `lhs op rhs`.
struct MarkerItem {
  MarkerVar lhs;
  std::string op;
  MarkerVar rhs;
};

struct MarkerNode;
/// An element of a marker list: a comparison, a parenthesized list, or "and" / "or".
using MarkerElement = std::variant<MarkerItem, std::shared_ptr<const MarkerNode>, std::string>;

/// packaging's MarkerList: atoms separated by "and" / "or", in source order.
struct MarkerNode {
  std::vector<MarkerElement> elements;
};

/// _parse_marker: a marker expression at the tokenizer's position (not requiring the end),
/// with extra names normalized as packaging's _normalize_extra_values does.
std::expected<std::shared_ptr<const MarkerNode>, SyntaxError> parse_marker_expression(Tokenizer& tokenizer);

}  // namespace strata::pep
