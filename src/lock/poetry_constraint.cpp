#include "lock/poetry_constraint.hpp"

#include <fmt/format.h>

#include "util/strings.hpp"

namespace strata::lock {
namespace {

using Clause = PoetryConstraint::Clause;
using Op = Clause::Op;

bool is_op_char(char c) { return c == '<' || c == '>' || c == '=' || c == '!' || c == '~' || c == '^'; }

std::optional<pep::Version> version_from(const std::vector<std::uint64_t>& release) {
  std::vector<std::string> parts;
  for (auto n : release) parts.push_back(std::to_string(n));
  auto v = pep::Version::parse(util::join(parts, "."));
  if (!v) return std::nullopt;
  return std::move(*v);
}

// Upper bound made by bumping release part `index` and dropping what follows.
std::optional<pep::Version> bump(std::vector<std::uint64_t> release, std::size_t index) {
  release.resize(index + 1, 0);
  release[index] += 1;
  return version_from(release);
}

Result<void> add_clause(std::string_view op, std::string_view text, std::string_view whole,
                        std::vector<Clause>& out) {
  auto bad = [&] { return fail(ErrorKind::usage, fmt::format("invalid version constraint \"{}\"", whole)); };
  if (text == "*" && (op.empty() || op == "==")) return {};
  bool wildcard = text.ends_with(".*");
  std::string_view version_text = wildcard ? text.substr(0, text.size() - 2) : text;
  auto version = pep::Version::parse(version_text);
  if (!version) return bad();
  Clause c;
  c.version = *version;
  c.precision = version->release().size();
  if (wildcard) {
    c.prefix = version->release();
    if (op.empty() || op == "==") {
      c.op = Op::prefix_eq;
    } else if (op == "!=") {
      c.op = Op::prefix_ne;
    } else if (op == ">=") {
      c.op = Op::ge;
    } else if (op == "<") {
      c.op = Op::lt;
    } else {
      return bad();
    }
    out.push_back(std::move(c));
    return {};
  }
  auto push = [&](Op o, pep::Version v) {
    Clause d = c;
    d.op = o;
    d.version = std::move(v);
    out.push_back(std::move(d));
  };
  const auto& release = version->release();
  if (op.empty() || op == "==" || op == "===") {
    push(Op::eq, *version);
  } else if (op == "!=") {
    push(Op::ne, *version);
  } else if (op == "<") {
    push(Op::lt, *version);
  } else if (op == "<=") {
    push(Op::le, *version);
  } else if (op == ">") {
    push(Op::gt, *version);
  } else if (op == ">=") {
    push(Op::ge, *version);
  } else if (op == "^") {
    std::size_t index = release.size() - 1;
    for (std::size_t i = 0; i < release.size(); ++i) {
      if (release[i] != 0) {
        index = i;
        break;
      }
    }
    if (release.size() == 1) index = 0;
    auto upper = bump(release, index);
    if (!upper) return bad();
    push(Op::ge, *version);
    push(Op::lt, *upper);
  } else if (op == "~" || op == "~=") {
    if (op == "~=" && release.size() < 2) return bad();
    std::size_t index = op == "~=" ? release.size() - 2 : (release.size() == 1 ? 0 : 1);
    auto upper = bump(release, index);
    if (!upper) return bad();
    push(Op::ge, *version);
    push(Op::lt, *upper);
  } else {
    return bad();
  }
  return {};
}

bool starts_with_release(const pep::Version& v, const std::vector<std::uint64_t>& prefix) {
  const auto& r = v.release();
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    std::uint64_t part = i < r.size() ? r[i] : 0;
    if (part != prefix[i]) return false;
  }
  return true;
}

const char* op_text(Op op) {
  switch (op) {
    case Op::eq:
      return "==";
    case Op::ne:
      return "!=";
    case Op::lt:
      return "<";
    case Op::le:
      return "<=";
    case Op::gt:
      return ">";
    case Op::ge:
      return ">=";
    case Op::prefix_eq:
      return "==";
    case Op::prefix_ne:
      return "!=";
  }
  return "";
}

}  // namespace

bool Clause::allows(const pep::Version& v) const {
  // A clause without a local label ignores the candidate's local label (PEP 440 "==").
  bool ignore_local = version.local().empty();
  const pep::Version candidate = ignore_local ? v.public_version() : v;
  switch (op) {
    case Op::eq:
      return candidate == version;
    case Op::ne:
      return candidate != version;
    case Op::le:
      return candidate <= version;
    case Op::ge:
      return candidate >= version;
    case Op::gt:
      return candidate > version;
    case Op::lt:
      // "<2.0" does not admit 2.0's own pre-releases (PEP 440; poetry-core agrees).
      if (!version.is_prerelease() && candidate.is_prerelease() &&
          candidate.base_version() == version.base_version())
        return false;
      return candidate < version;
    case Op::prefix_eq:
      return starts_with_release(candidate, prefix) && candidate.epoch() == version.epoch();
    case Op::prefix_ne:
      return !(starts_with_release(candidate, prefix) && candidate.epoch() == version.epoch());
  }
  return false;
}

Result<PoetryConstraint> PoetryConstraint::parse(std::string_view text) {
  PoetryConstraint c;
  std::string_view whole = util::trim(text);
  if (whole.empty() || whole == "*") {
    c.any_ = true;
    return c;
  }
  std::string unified;  // "||" and "|" both separate alternatives
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (whole[i] == '|' && i + 1 < whole.size() && whole[i + 1] == '|') continue;
    unified.push_back(whole[i]);
  }
  for (std::string_view alternative : util::split(unified, '|')) {
    std::vector<Clause> clauses;
    std::size_t i = 0;
    auto s = alternative;
    while (i < s.size()) {
      while (i < s.size() && (util::is_space(s[i]) || s[i] == ',')) ++i;
      if (i >= s.size()) break;
      std::size_t op_start = i;
      while (i < s.size() && is_op_char(s[i])) ++i;
      std::string_view op = s.substr(op_start, i - op_start);
      while (i < s.size() && util::is_space(s[i])) ++i;
      std::size_t v_start = i;
      while (i < s.size() && !util::is_space(s[i]) && s[i] != ',' && !is_op_char(s[i])) ++i;
      // Versions never hold operator characters, but "===" / "!=" inside a token would loop.
      std::string_view version = s.substr(v_start, i - v_start);
      if (version.empty())
        return fail(ErrorKind::usage, fmt::format("invalid version constraint \"{}\"", whole));
      if (auto r = add_clause(op, version, whole, clauses); !r) return std::unexpected(r.error());
    }
    if (clauses.empty()) {
      // An alternative of only "*" admits everything.
      c.any_ = true;
      c.alternatives_.clear();
      return c;
    }
    c.alternatives_.push_back(std::move(clauses));
  }
  if (c.alternatives_.empty()) c.any_ = true;
  return c;
}

bool PoetryConstraint::allows(const pep::Version& version) const {
  if (any_) return true;
  for (const auto& clauses : alternatives_) {
    bool ok = true;
    for (const auto& clause : clauses) ok = ok && clause.allows(version);
    if (ok) return true;
  }
  return false;
}

bool PoetryConstraint::allows_python(const pep::Version& full, const pep::Version& short_version) const {
  if (any_) return true;
  for (const auto& clauses : alternatives_) {
    bool ok = true;
    for (const auto& clause : clauses) ok = ok && clause.allows(clause.precision >= 3 ? full : short_version);
    if (ok) return true;
  }
  return false;
}

std::string PoetryConstraint::str() const {
  if (any_) return "*";
  std::vector<std::string> alternatives;
  for (const auto& clauses : alternatives_) {
    std::vector<std::string> parts;
    for (const auto& clause : clauses) {
      if (clause.op == Op::prefix_eq || clause.op == Op::prefix_ne) {
        std::vector<std::string> digits;
        for (auto n : clause.prefix) digits.push_back(std::to_string(n));
        parts.push_back(fmt::format("{}{}.*", op_text(clause.op), util::join(digits, ".")));
      } else {
        parts.push_back(fmt::format("{}{}", op_text(clause.op), clause.version.str()));
      }
    }
    alternatives.push_back(util::join(parts, ","));
  }
  return util::join(alternatives, " || ");
}

}  // namespace strata::lock
