#pragma once
// The seed's lint for pyproject.toml (SPEC "strata check"): Poetry caret and tilde constraints
// (`^1.2.0`, `~1.2`) in `[tool.poetry.dependencies]`, `dev-dependencies` and every
// `[tool.poetry.group.<name>.dependencies]`, each with its position and the `>=X,<Y` spelling
// that says the same thing in PEP 440 terms.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::lock {

/// One caret or tilde constraint.
struct ConstraintLint {
  std::string where;       ///< "pyproject.toml:12:11": the constraint string's position
  std::size_t line = 0;    ///< 1-based
  std::size_t column = 0;  ///< 1-based
  std::string dependency;  ///< the dependency's key as written
  std::string constraint;  ///< as written, e.g. "^1.2.0"
  std::string suggestion;  ///< the same range as ">=1.2.0,<2.0.0"
  /// "pyproject.toml:12:11: requests = \"^2.31\": write \">=2.31,<3.0\" (caret ...)".
  std::string message() const;
};

/// Every caret/tilde constraint of pyproject.toml text, in file order. Malformed TOML is a usage
/// error with "source:line:col"; a constraint that does not parse is skipped (the lock readers
/// report it).
Result<std::vector<ConstraintLint>> lint_constraints(std::string_view pyproject_text,
                                                     std::string_view source_name);

}  // namespace strata::lock
