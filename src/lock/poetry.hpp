#pragma once
// poetry.lock (lock-version 1.0, 1.1, 2.0, 2.1) together with the pyproject.toml beside it.

#include <optional>
#include <string_view>

#include "lock/model.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// The project file that accompanies a poetry.lock.
struct PyprojectText {
  std::string_view text;
  std::string_view source_name;  ///< e.g. "pyproject.toml", prefixes its errors
};

/// Reads a poetry.lock document and, when given, its pyproject.toml (root requirements per
/// group, extras, sources, the project's Python constraint). Malformed or unsupported content is
/// a usage error with "file:line:col".
Result<Lock> read_poetry(std::string_view lock_text, std::string_view lock_name,
                         std::optional<PyprojectText> pyproject);

/// The Poetry version named in a poetry.lock header comment ("" when there is none).
std::string poetry_generator_version(std::string_view lock_text);

}  // namespace strata::lock
