#pragma once
// pdm.lock (lock_version 4.x, as pdm 2.x writes it) with, when present, the pyproject.toml beside
// it (which of the lock's groups are extras and which are dependency groups).

#include <optional>
#include <string_view>

#include "lock/model.hpp"
#include "lock/poetry.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// Reads a pdm.lock document: `[metadata]` groups, strategy, targets and content_hash, and every
/// `[[package]]` (index files by name and hash; `git`/`hg`/`svn`/`bzr`, `url`, `path` and
/// `editable` sources). An entry with `extras` (pdm's copy of a package for `name[extra]`) is
/// folded into its plain entry. Malformed or unsupported content (a lock_version other than 4.x
/// up to 4.5, a lock without the inherit_metadata strategy) is a usage error with "file:line:col".
Result<Lock> read_pdm_lock(std::string_view text, std::string_view source_name,
                           std::optional<PyprojectText> pyproject = std::nullopt);

/// True when TOML text looks like a pdm.lock: `lock_version` in its `[metadata]` (Poetry writes
/// `lock-version`). Looks at line starts only.
bool looks_like_pdm_lock(std::string_view text);

}  // namespace strata::lock
