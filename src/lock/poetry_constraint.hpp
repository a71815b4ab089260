#pragma once
// Poetry's version constraint syntax ("^1.2", "~1.2.3", ">=1,<2 || ==3.*", "1.2.*", "*"), used
// by poetry.lock dependency entries and pyproject.toml, matched against PEP 440 versions.

#include <string>
#include <string_view>
#include <vector>

#include "pep/version.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// A union of intersections of simple comparisons.
class PoetryConstraint {
 public:
  /// Parses a constraint; the error (kind usage) quotes it.
  static Result<PoetryConstraint> parse(std::string_view text);

  /// True when `version` satisfies the constraint (pre-releases allowed, as Poetry's `allows`).
  bool allows(const pep::Version& version) const;
  /// For a `python` restriction: clauses written with three or more release parts compare with
  /// `full` (python_full_version), others with `short` (python_version), as Poetry's markers do.
  bool allows_python(const pep::Version& full, const pep::Version& short_version) const;
  bool is_any() const { return any_; }
  /// The constraint as PEP 440 specifier sets joined by " || ".
  std::string str() const;

  struct Clause {
    enum class Op { eq, ne, lt, le, gt, ge, prefix_eq, prefix_ne };
    Op op = Op::eq;
    pep::Version version;
    std::vector<std::uint64_t> prefix;  // for the wildcard forms
    std::size_t precision = 0;          // release parts as written
    bool allows(const pep::Version& v) const;
  };

 private:
  bool any_ = false;
  std::vector<std::vector<Clause>> alternatives_;
};

}  // namespace strata::lock
