#include "lock/constraint_lint.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "lock/poetry_constraint.hpp"
#include "lock/toml_read.hpp"
#include "util/strings.hpp"

namespace strata::lock {
namespace {

/// Whether a Poetry constraint uses a caret or a tilde (but not PEP 440's `~=`).
bool caret_or_tilde(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '^') return true;
    if (text[i] == '~' && (i + 1 >= text.size() || text[i + 1] != '=')) return true;
  }
  return false;
}

std::size_t parts(std::string_view version) {
  return static_cast<std::size_t>(std::ranges::count(version, '.')) + 1;
}

/// ">=1.2.0,<2" -> ">=1.2.0,<2.0.0": the upper bound written with as many parts as the lower one.
std::string pad_upper_bounds(const std::string& spelling) {
  std::string out;
  for (auto alternative : util::split(spelling, '|')) {
    if (alternative.empty()) continue;
    std::vector<std::string> clauses;
    for (auto clause : util::split(util::trim(alternative), ',')) clauses.emplace_back(util::trim(clause));
    for (std::size_t i = 1; i < clauses.size(); ++i) {
      const std::string& lower = clauses[i - 1];
      std::string& upper = clauses[i];
      if (!lower.starts_with(">=") || !upper.starts_with("<") || upper.starts_with("<=")) continue;
      while (parts(upper.substr(1)) < parts(lower.substr(2))) upper += ".0";
    }
    if (!out.empty()) out += " || ";
    out += util::join(clauses, ",");
  }
  return out;
}

void lint_value(const toml::node& node, std::string_view key, std::string_view source,
                std::vector<ConstraintLint>& out) {
  const toml::node* value = &node;
  if (const auto* table = node.as_table()) {
    value = table->get("version");
    if (!value) return;
  }
  const auto* text = value->as_string();
  if (!text || !caret_or_tilde(text->get())) return;
  auto parsed = PoetryConstraint::parse(text->get());
  if (!parsed) return;
  ConstraintLint lint;
  lint.line = value->source().begin.line;
  lint.column = value->source().begin.column;
  lint.where = lint.line ? fmt::format("{}:{}:{}", source, lint.line, lint.column) : std::string(source);
  lint.dependency = std::string(key);
  lint.constraint = text->get();
  lint.suggestion = pad_upper_bounds(parsed->str());
  out.push_back(std::move(lint));
}

void lint_table(const toml::table* table, std::string_view source, std::vector<ConstraintLint>& out) {
  if (!table) return;
  for (const auto& [key, node] : *table) {
    if (key.str() == "python") continue;  // the interpreter range, not a dependency
    if (const auto* alternatives = node.as_array()) {
      for (const auto& item : *alternatives) lint_value(item, key.str(), source, out);
    } else {
      lint_value(node, key.str(), source, out);
    }
  }
}

}  // namespace

std::string ConstraintLint::message() const {
  return fmt::format("{}: {} = \"{}\": write \"{}\" instead (caret and tilde are Poetry-only)", where,
                     dependency, constraint, suggestion);
}

Result<std::vector<ConstraintLint>> lint_constraints(std::string_view pyproject_text,
                                                     std::string_view source_name) {
  auto doc = detail::parse_toml(pyproject_text, source_name);
  if (!doc) return std::unexpected(doc.error());
  std::vector<ConstraintLint> out;
  const auto* poetry = (*doc)["tool"]["poetry"].as_table();
  if (!poetry) return out;
  lint_table((*poetry)["dependencies"].as_table(), source_name, out);
  lint_table((*poetry)["dev-dependencies"].as_table(), source_name, out);
  if (const auto* groups = (*poetry)["group"].as_table())
    for (const auto& [name, group] : *groups)
      if (const auto* g = group.as_table()) lint_table((*g)["dependencies"].as_table(), source_name, out);
  std::ranges::sort(out, [](const ConstraintLint& a, const ConstraintLint& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  return out;
}

}  // namespace strata::lock
