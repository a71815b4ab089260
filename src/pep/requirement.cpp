#include "pep/requirement.hpp"

#include <algorithm>

#include "pep/pep508_parser.hpp"

namespace strata::pep {

namespace {

template <class T>
using Parsed = std::expected<T, SyntaxError>;

struct Details {
  std::string url;
  std::string specifier;
  std::shared_ptr<const MarkerNode> marker;
};

Parsed<std::vector<std::string>> parse_extras_list(Tokenizer& t) {
  std::vector<std::string> extras;
  if (!t.check(Rule::identifier)) return extras;
  extras.emplace_back(t.read().text);
  while (true) {
    t.consume(Rule::ws);
    if (t.check(Rule::identifier, true)) {
      return std::unexpected(t.error("Expected comma between extra names"));
    }
    if (!t.check(Rule::comma)) break;
    t.read();
    t.consume(Rule::ws);
    auto extra = t.expect(Rule::identifier, "extra name after comma");
    if (!extra) return std::unexpected(extra.error());
    extras.emplace_back(extra->text);
  }
  return extras;
}

Parsed<std::vector<std::string>> parse_extras(Tokenizer& t) {
  if (!t.check(Rule::left_bracket, true)) return std::vector<std::string>{};
  t.check(Rule::left_bracket);
  std::size_t open = t.position();
  t.read();
  t.consume(Rule::ws);
  auto extras = parse_extras_list(t);
  if (!extras) return extras;
  t.consume(Rule::ws);
  if (!t.check(Rule::right_bracket)) {
    return std::unexpected(t.error("Expected matching RIGHT_BRACKET for LEFT_BRACKET, after extras", open));
  }
  t.read();
  return extras;
}

Parsed<std::string> parse_version_many(Tokenizer& t) {
  std::string parsed;
  while (t.check(Rule::specifier)) {
    std::size_t span_start = t.position();
    std::string_view spec = t.read().text;
    parsed += spec;
    if (t.check(Rule::version_prefix_trail, true)) {
      bool equality = spec.starts_with("!=") || (spec.starts_with("==") && !spec.starts_with("==="));
      return std::unexpected(t.error(equality ? ".* suffix cannot be used with pre-release, "
                                                "post-release, dev or local versions"
                                              : ".* suffix can only be used with `==` or `!=` "
                                                "operators",
                                     span_start, t.position() + 1));
    }
    if (t.check(Rule::version_local_label_trail, true)) {
      return std::unexpected(t.error("Local version label can only be used with `==` or `!=` operators",
                                     span_start, t.position()));
    }
    t.consume(Rule::ws);
    if (!t.check(Rule::comma)) break;
    parsed += t.read().text;
    t.consume(Rule::ws);
  }
  return parsed;
}

Parsed<std::string> parse_specifier(Tokenizer& t) {
  std::size_t open = Tokenizer::npos;
  if (t.check(Rule::left_parenthesis)) {
    open = t.position();
    t.read();
  }
  t.consume(Rule::ws);
  auto specifier = parse_version_many(t);
  if (!specifier) return specifier;
  t.consume(Rule::ws);
  if (open != Tokenizer::npos) {
    if (!t.check(Rule::right_parenthesis)) {
      return std::unexpected(
          t.error("Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after version specifier", open));
    }
    t.read();
  }
  return specifier;
}

Parsed<std::shared_ptr<const MarkerNode>> parse_requirement_marker(Tokenizer& t, std::size_t span_start,
                                                                   std::string_view expected) {
  if (!t.check(Rule::semicolon)) {
    return std::unexpected(t.error("Expected " + std::string(expected) + " or end", span_start));
  }
  t.read();
  auto marker = parse_marker_expression(t);
  if (!marker) return marker;
  t.consume(Rule::ws);
  return marker;
}

Parsed<Details> parse_details(Tokenizer& t) {
  Details details;
  if (t.check(Rule::at)) {
    t.read();
    t.consume(Rule::ws);
    std::size_t url_start = t.position();
    auto url = t.expect(Rule::url, "URL after @");
    if (!url) return std::unexpected(url.error());
    details.url = std::string(url->text);
    if (t.check(Rule::end, true)) return details;
    if (auto ws = t.expect(Rule::ws, "whitespace after URL"); !ws) {
      return std::unexpected(ws.error());
    }
    if (t.check(Rule::end, true)) return details;
    auto marker = parse_requirement_marker(t, url_start, "semicolon (after URL and whitespace)");
    if (!marker) return std::unexpected(marker.error());
    details.marker = std::move(*marker);
    return details;
  }
  std::size_t specifier_start = t.position();
  auto specifier = parse_specifier(t);
  if (!specifier) return std::unexpected(specifier.error());
  details.specifier = std::move(*specifier);
  t.consume(Rule::ws);
  if (t.check(Rule::end, true)) return details;
  auto marker = parse_requirement_marker(
      t, specifier_start,
      details.specifier.empty() ? "semicolon (after name with no version specifier)"
                                : "comma (within version specifier), semicolon (after version specifier)");
  if (!marker) return std::unexpected(marker.error());
  details.marker = std::move(*marker);
  return details;
}

}  // namespace

Result<Requirement> Requirement::parse(std::string_view text) {
  Tokenizer t(text);
  auto syntax_error = [&](const SyntaxError& error) {
    return fail(ErrorKind::usage, format_syntax_error(error, text));
  };
  t.consume(Rule::ws);
  auto name = t.expect(Rule::identifier, "package name at the start of dependency specifier");
  if (!name) return syntax_error(name.error());
  t.consume(Rule::ws);
  auto extras = parse_extras(t);
  if (!extras) return syntax_error(extras.error());
  t.consume(Rule::ws);
  auto details = parse_details(t);
  if (!details) return syntax_error(details.error());
  if (auto end = t.expect(Rule::end, "end of dependency specifier"); !end) {
    return syntax_error(end.error());
  }

  Requirement requirement;
  requirement.name = std::string(name->text);
  requirement.extras = std::move(*extras);
  std::sort(requirement.extras.begin(), requirement.extras.end());
  requirement.extras.erase(std::unique(requirement.extras.begin(), requirement.extras.end()),
                           requirement.extras.end());
  auto specifier = SpecifierSet::parse(details->specifier);
  if (!specifier) return fail(ErrorKind::usage, specifier.error().message);
  requirement.specifier = std::move(*specifier);
  requirement.url = std::move(details->url);
  if (details->marker) requirement.marker = Marker(std::move(details->marker));
  return requirement;
}

std::string Requirement::str() const {
  std::string out = name;
  if (!extras.empty()) {
    out += '[';
    for (std::size_t i = 0; i < extras.size(); ++i) {
      if (i > 0) out += ',';
      out += extras[i];
    }
    out += ']';
  }
  if (!specifier.empty()) out += specifier.str();
  if (!url.empty()) {
    out += " @ " + url;
    if (marker) out += ' ';
  }
  if (marker) out += "; " + marker->str();
  return out;
}

}  // namespace strata::pep
