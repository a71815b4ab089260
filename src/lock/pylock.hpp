#pragma once
// PEP 751 lock files (pylock.toml, pylock.<name>.toml).

#include <string_view>

#include "lock/model.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// Reads a pylock.toml document. `source_name` (the file name) prefixes every error, which is a
/// usage error with line and column for malformed or unsupported content.
Result<Lock> read_pylock(std::string_view text, std::string_view source_name);

}  // namespace strata::lock
