#pragma once
// Where strata keeps its caches (downloaded artifacts, interpreter probes).

#include <filesystem>
#include <string_view>

#include "util/error.hpp"

namespace strata::env {

/// The cache root from explicit values: `override_dir` (a --cache-dir flag) if set, else
/// `strata_cache_dir` ($STRATA_CACHE_DIR), else `xdg_cache_home`/strata ($XDG_CACHE_HOME), else
/// `home`/.cache/strata. Empty strings count as unset. Relative paths are made absolute. Fails
/// (kind usage) when all are empty.
Result<std::filesystem::path> resolve_cache_root(std::string_view override_dir,
                                                 std::string_view strata_cache_dir,
                                                 std::string_view xdg_cache_home, std::string_view home);

/// resolve_cache_root with the process environment ($STRATA_CACHE_DIR, $XDG_CACHE_HOME, $HOME).
Result<std::filesystem::path> cache_root(std::string_view override_dir = {});

/// The subdirectory of a cache root that holds interpreter probe results.
std::filesystem::path interpreter_cache_dir(const std::filesystem::path& cache_root);

}  // namespace strata::env
