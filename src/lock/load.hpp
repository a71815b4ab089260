#pragma once
// Finding and reading a lock: `LOCK` is a lock file or a directory holding one (SPEC "strata
// install"): poetry.lock (with pyproject.toml beside it), pylock.toml, pylock.<name>.toml, uv.lock,
// pdm.lock (with the pyproject.toml beside it when present), Pipfile.lock, and a layer manifest written by
// `strata plan` (recognised by its content).

#include <filesystem>
#include <optional>
#include <string_view>

#include "lock/model.hpp"
#include "lock/poetry.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// The files that make up one lock.
struct LockFiles {
  Format format = Format::pylock;
  std::filesystem::path lock;
  std::filesystem::path pyproject;  ///< Poetry (required), pdm (when present); Pipfile.lock: the Pipfile
};

/// Finds the lock at `path` (a file, or a directory holding exactly one lock). Usage errors name
/// the path and what was looked for, or the candidates when there are several.
Result<LockFiles> find_lock(const std::filesystem::path& path);

/// Reads lock text whose format is told by `source_name` ("poetry.lock", "pylock*.toml") or, for
/// other names, by its content. `pyproject` is used by Poetry locks only.
Result<Lock> parse_lock(std::string_view text, std::string_view source_name,
                        std::optional<PyprojectText> pyproject = std::nullopt);

/// find_lock, then reads and parses the files. Messages use the paths as given.
Result<Lock> load_lock(const std::filesystem::path& path);

}  // namespace strata::lock
