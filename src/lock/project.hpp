#pragma once
// The project a pyproject.toml describes, for owner identities (SPEC "Installing": the owner is
// the project).

#include <string>
#include <string_view>

#include "util/error.hpp"

namespace strata::lock {

/// The normalized `[project].name`, else `[tool.poetry].name`, of pyproject.toml text; "" when it
/// names no project. Malformed TOML or a name that is not a string: a usage error with
/// `source:line:col`.
Result<std::string> read_project_name(std::string_view pyproject_text, std::string_view source_name);

}  // namespace strata::lock
