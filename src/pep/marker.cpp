#include "pep/marker.hpp"

#include <optional>
#include <variant>

#include "pep/name.hpp"
#include "pep/pep508_parser.hpp"
#include "pep/pychar.hpp"
#include "pep/specifier.hpp"
#include "pep/version.hpp"

namespace strata::pep {

namespace {

using ParseResult = std::expected<std::shared_ptr<const MarkerNode>, SyntaxError>;

bool is_octal(char c) { return c >= '0' && c <= '7'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of a Python string literal token ('...' or "..."), as ast.literal_eval computes
// it; nullopt where Python raises (unterminated, bad escape, NUL). `\N{name}` escapes are not
// supported (no Unicode name table) and count as errors.
std::optional<std::string> eval_python_string(std::string_view token) {
  std::string_view body = token.substr(1, token.size() - 2);
  std::string out;
  std::size_t i = 0;
  while (i < body.size()) {
    char c = body[i];
    if (c == '\0' || c == '\n' || c == '\r') return std::nullopt;
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= body.size()) return std::nullopt;  // the backslash escapes the closing quote
    char e = body[i + 1];
    i += 2;
    switch (e) {
      case '\n':
        break;  // line continuation
      case '\r':
        if (i < body.size() && body[i] == '\n') ++i;
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x':
      case 'u':
      case 'U': {
        std::size_t digits = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        char32_t code = 0;
        for (std::size_t k = 0; k < digits; ++k) {
          if (i + k >= body.size() || hex_value(body[i + k]) < 0) return std::nullopt;
          code = code * 16 + static_cast<char32_t>(hex_value(body[i + k]));
        }
        if (code > 0x10ffff) return std::nullopt;
        i += digits;
        utf8_append(out, code);
        break;
      }
      case 'N':
        return std::nullopt;
      default:
        if (is_octal(e)) {
          char32_t code = static_cast<char32_t>(e - '0');
          for (int k = 0; k < 2 && i < body.size() && is_octal(body[i]); ++k, ++i) {
            code = code * 8 + static_cast<char32_t>(body[i] - '0');
          }
          utf8_append(out, code);
        } else {
          out += '\\';  // unknown escapes stay as written (Python only warns)
          out += e;
        }
    }
  }
  return out;
}

std::expected<MarkerVar, SyntaxError> parse_marker_var(Tokenizer& t) {
  if (t.check(Rule::variable)) {
    std::string name(t.read().text);
    for (char& c : name) {
      if (c == '.') c = '_';
    }
    if (name == "python_implementation") name = "platform_python_implementation";
    return MarkerVar{true, std::move(name)};
  }
  if (t.check(Rule::quoted_string)) {
    Token token = t.read();
    auto value = eval_python_string(token.text);
    if (!value) {
      return std::unexpected(
          t.error("Invalid quoted string", token.position, token.position + token.text.size()));
    }
    return MarkerVar{false, std::move(*value)};
  }
  return std::unexpected(t.error("Expected a marker variable or quoted string"));
}

std::expected<std::string, SyntaxError> parse_marker_op(Tokenizer& t) {
  if (t.check(Rule::in)) {
    t.read();
    return "in";
  }
  if (t.check(Rule::not_)) {
    t.read();
    if (auto ws = t.expect(Rule::ws, "whitespace after 'not'"); !ws) {
      return std::unexpected(ws.error());
    }
    if (auto in = t.expect(Rule::in, "'in' after 'not'"); !in) return std::unexpected(in.error());
    return "not in";
  }
  if (t.check(Rule::op)) return std::string(t.read().text);
  return std::unexpected(
      t.error("Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in"));
}

bool is_set_variable(std::string_view name) { return name == "extras" || name == "dependency_groups"; }

// packaging's _normalize_extras: the literal compared with `extra`, or tested for membership
// in `extras` / `dependency_groups`, is normalized as a name.
void normalize_extra_item(MarkerItem& item) {
  if (item.lhs.is_variable && item.lhs.value == "extra" && !item.rhs.is_variable) {
    item.rhs.value = normalize_name(item.rhs.value);
  } else if (item.rhs.is_variable && item.rhs.value == "extra" && !item.lhs.is_variable) {
    item.lhs.value = normalize_name(item.lhs.value);
  } else if (item.rhs.is_variable && is_set_variable(item.rhs.value) && !item.lhs.is_variable) {
    item.lhs.value = normalize_name(item.lhs.value);
  }
}

std::expected<MarkerItem, SyntaxError> parse_marker_item(Tokenizer& t) {
  t.consume(Rule::ws);
  auto lhs = parse_marker_var(t);
  if (!lhs) return std::unexpected(lhs.error());
  t.consume(Rule::ws);
  auto op = parse_marker_op(t);
  if (!op) return std::unexpected(op.error());
  t.consume(Rule::ws);
  auto rhs = parse_marker_var(t);
  if (!rhs) return std::unexpected(rhs.error());
  t.consume(Rule::ws);
  MarkerItem item{std::move(*lhs), std::move(*op), std::move(*rhs)};
  normalize_extra_item(item);
  return item;
}

std::expected<MarkerElement, SyntaxError> parse_marker_atom(Tokenizer& t) {
  t.consume(Rule::ws);
  MarkerElement atom;
  if (t.check(Rule::left_parenthesis, true)) {
    t.check(Rule::left_parenthesis);
    std::size_t open = t.position();
    t.read();
    t.consume(Rule::ws);
    auto inner = parse_marker_expression(t);
    if (!inner) return std::unexpected(inner.error());
    t.consume(Rule::ws);
    if (!t.check(Rule::right_parenthesis)) {
      return std::unexpected(
          t.error("Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after marker "
                  "expression",
                  open));
    }
    t.read();
    atom = std::move(*inner);
  } else {
    auto item = parse_marker_item(t);
    if (!item) return std::unexpected(item.error());
    atom = std::move(*item);
  }
  t.consume(Rule::ws);
  return atom;
}

// Python's repr() of a str for error messages.
std::string quote(std::string_view text) {
  bool has_single = text.find('\'') != std::string_view::npos;
  bool has_double = text.find('"') != std::string_view::npos;
  char q = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, q);
  for (char c : text) {
    if (c == q || c == '\\') out += '\\';
    out += c;
  }
  out += q;
  return out;
}

std::string serialize_var(const MarkerVar& var) {
  if (var.is_variable) return var.value;
  // packaging raises for a value holding both quote kinds; double quotes are used then.
  if (var.value.find('"') == std::string::npos || var.value.find('\'') != std::string::npos) {
    return "\"" + var.value + "\"";
  }
  return "'" + var.value + "'";
}

std::string format_node(const MarkerNode& node, bool first);

std::string format_element(const MarkerElement& element, bool first) {
  if (const auto* item = std::get_if<MarkerItem>(&element)) {
    return serialize_var(item->lhs) + " " + item->op + " " + serialize_var(item->rhs);
  }
  if (const auto* list = std::get_if<std::shared_ptr<const MarkerNode>>(&element)) {
    return format_node(**list, first);
  }
  return std::get<std::string>(element);
}

// packaging's _format_marker: a one-atom list is unwrapped keeping `first`; nested lists get
// parentheses.
std::string format_node(const MarkerNode& node, bool first) {
  if (node.elements.size() == 1 && !std::holds_alternative<std::string>(node.elements[0])) {
    return format_element(node.elements[0], first);
  }
  std::string out;
  for (const MarkerElement& element : node.elements) {
    if (!out.empty()) out += ' ';
    out += format_element(element, false);
  }
  return first ? out : "(" + out + ")";
}

// A looked-up operand: a string or one of the set variables.
struct Operand {
  std::string text;
  const std::set<std::string>* set = nullptr;
};

bool is_version_key(std::string_view key) {
  return key == "implementation_version" || key == "platform_release" || key == "python_full_version" ||
         key == "python_version";
}

Result<Operand> lookup(const MarkerContext& context, std::string_view key) {
  if (key == "extra") {
    return Operand{context.extra.empty() ? std::string() : normalize_name(context.extra)};
  }
  if (key == "extras") return Operand{{}, &context.extras};
  if (key == "dependency_groups") return Operand{{}, &context.dependency_groups};
  if (context.environment != nullptr) {
    if (auto it = context.environment->find(key); it != context.environment->end()) {
      std::string value = it->second;
      // packaging repairs platform.python_version() of untagged builds ("3.13.0+").
      if (key == "python_full_version" && value.ends_with("+")) value += "local";
      return Operand{std::move(value)};
    }
  }
  return fail(ErrorKind::usage, "undefined environment name " + quote(key) +
                                    " in marker (the target environment has no such value)");
}

Result<bool> eval_op(const std::string& lhs, const std::string& op, const Operand& rhs,
                     std::string_view key) {
  if (rhs.set == nullptr && is_version_key(key)) {
    if (auto spec = Specifier::parse(op + rhs.text)) {
      if (op == "===") return spec->contains_text(lhs, true);
      auto version = Version::parse(lhs);
      return version && spec->contains(*version, true);
    }
  }
  if (rhs.set != nullptr) {
    std::string name = normalize_name(lhs);
    bool member = false;
    for (const std::string& item : *rhs.set) {
      if (normalize_name(item) == name) member = true;
    }
    if (op == "in") return member;
    if (op == "not in") return !member;
    if (op == "<" || op == ">" || op == "<=" || op == "==" || op == ">=") return false;
    if (op == "!=") return true;
    return fail(ErrorKind::usage, "undefined comparison " + quote(op) + " on " + quote(lhs) +
                                      " and the set " + std::string(key) + " in marker");
  }
  if (op == "in") return rhs.text.find(lhs) != std::string::npos;
  if (op == "not in") return rhs.text.find(lhs) == std::string::npos;
  if (op == "<" || op == ">") return false;
  if (op == "<=" || op == "==" || op == ">=") return lhs == rhs.text;
  if (op == "!=") return lhs != rhs.text;
  return fail(ErrorKind::usage, "undefined comparison " + quote(op) + " on " + quote(lhs) + " and " +
                                    quote(rhs.text) + " in marker");
}

Result<bool> eval_item(const MarkerItem& item, const MarkerContext& context) {
  // As in packaging: with a literal on the left, the right-hand text names the variable.
  std::string key = item.lhs.is_variable ? item.lhs.value : item.rhs.value;
  if (key == "extra" && context.extra_set != nullptr && item.lhs.is_variable != item.rhs.is_variable) {
    bool member = context.extra_set->contains(item.lhs.is_variable ? item.rhs.value : item.lhs.value);
    if (item.op == "==") return member;
    if (item.op == "!=") return !member;
    return false;
  }
  Operand lhs;
  Operand rhs;
  if (item.lhs.is_variable) {
    auto value = lookup(context, key);
    if (!value) return std::unexpected(value.error());
    lhs = std::move(*value);
    rhs = Operand{item.rhs.value};
  } else {
    auto value = lookup(context, key);
    if (!value) return std::unexpected(value.error());
    lhs = Operand{item.lhs.value};
    rhs = std::move(*value);
  }
  if (lhs.set != nullptr) {
    return fail(ErrorKind::usage, "set-valued marker " + quote(key) +
                                      " can only be used with the membership form (\"<name>\" in " + key +
                                      "), not on the left-hand side of " + quote(item.op));
  }
  return eval_op(lhs.text, item.op, rhs, key);
}

Result<bool> eval_node(const MarkerNode& node, const MarkerContext& context) {
  // Every comparison is evaluated (errors surface even where the result is already known),
  // then "and" binds tighter than "or".
  bool any_group = false;
  bool group = true;
  for (const MarkerElement& element : node.elements) {
    if (const auto* item = std::get_if<MarkerItem>(&element)) {
      auto value = eval_item(*item, context);
      if (!value) return value;
      group = group && *value;
    } else if (const auto* list = std::get_if<std::shared_ptr<const MarkerNode>>(&element)) {
      auto value = eval_node(**list, context);
      if (!value) return value;
      group = group && *value;
    } else if (std::get<std::string>(element) == "or") {
      any_group = any_group || group;
      group = true;
    }
  }
  return any_group || group;
}

}  // namespace

ParseResult parse_marker_expression(Tokenizer& tokenizer) {
  auto node = std::make_shared<MarkerNode>();
  auto first = parse_marker_atom(tokenizer);
  if (!first) return std::unexpected(first.error());
  node->elements.push_back(std::move(*first));
  while (tokenizer.check(Rule::boolop)) {
    node->elements.emplace_back(std::string(tokenizer.read().text));
    auto next = parse_marker_atom(tokenizer);
    if (!next) return std::unexpected(next.error());
    node->elements.push_back(std::move(*next));
  }
  return node;
}

Result<Marker> Marker::parse(std::string_view text) {
  Tokenizer tokenizer(text);
  auto root = parse_marker_expression(tokenizer);
  if (root) {
    if (auto end = tokenizer.expect(Rule::end, "end of marker expression"); !end) {
      root = std::unexpected(end.error());
    }
  }
  if (!root) return fail(ErrorKind::usage, format_syntax_error(root.error(), text));
  return Marker(std::move(*root));
}

Result<bool> Marker::try_evaluate(const MarkerContext& context) const {
  if (!root_) return true;
  return eval_node(*root_, context);
}

bool Marker::evaluate(const MarkerContext& context) const {
  auto result = try_evaluate(context);
  return result.has_value() && *result;
}

std::string Marker::str() const { return root_ ? format_node(*root_, true) : std::string(); }

Marker::Marker() = default;
Marker::Marker(std::shared_ptr<const MarkerNode> root) : root_(std::move(root)) {}
Marker::~Marker() = default;
Marker::Marker(const Marker&) = default;
Marker& Marker::operator=(const Marker&) = default;
Marker::Marker(Marker&&) noexcept = default;
Marker& Marker::operator=(Marker&&) noexcept = default;

}  // namespace strata::pep
