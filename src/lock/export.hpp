#pragma once
// Writing a selection back out (`strata export`): as a hashed requirements file that
// `pip install --require-hashes --no-deps -r` installs, or as a PEP 751 pylock.toml. Both are
// deterministic: packages sorted by name then version, artifacts by file name, no markers (the
// selection is already for one target), URLs without userinfo.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "lock/model.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// `header` (comment lines, each starting "# ") and one `name==version` per package with a
/// `--hash=sha256:…` per artifact; `name @ URL` for url and file sources (files as file:// URLs
/// of their absolute path under `lock_dir`). The index packages' indexes come first as
/// `--index-url` / `--extra-index-url` lines (none when every package is from PyPI). A package
/// without a sha256, or from a directory or VCS source, is an error (kind check) naming it.
Result<std::string> write_requirements_file(const Lock& lock, const std::vector<const Package*>& packages,
                                            const std::filesystem::path& lock_dir, std::string_view header);

/// A pylock.toml (lock-version 1.0, created-by "strata") of `packages`: index packages as
/// `wheels` and `sdist` with their url (or absolute path), size and hashes and the package's
/// `index`; url and file sources as `archive`. An artifact with neither a URL nor a path (a lock
/// that names files only, before plan::locate_hashed_artifacts) and directory or VCS sources are
/// errors (kind check) naming the package.
Result<std::string> write_pylock_file(const Lock& lock, const std::vector<const Package*>& packages,
                                      const std::filesystem::path& lock_dir, std::string_view header);

}  // namespace strata::lock
