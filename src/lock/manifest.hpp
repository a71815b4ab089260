#pragma once
// Layer manifests (docs/layer-manifest.md): the packages of one `strata plan` layer with every
// locked artifact, written as sorted TOML by `strata plan` and read by `strata install --layer`
// into the ordinary Lock model with every package selected unconditionally.

#include <string>
#include <string_view>
#include <vector>

#include "lock/model.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// The manifest-version this strata writes and reads.
inline constexpr int kManifestVersion = 1;

/// Writes the manifest of layer `layer` of project `project` (the plan's owner, env/ledger.hpp)
/// holding `packages` (entries of `lock`). The bytes depend only on the project and layer names
/// and these packages' lock entries: packages sorted by name then version,
/// artifacts by file name, userinfo stripped from every URL. Relative paths of path sources and
/// artifacts (relative to the lock's directory) are written as `path_prefix` / path, so that they
/// resolve against the manifest's directory; `path_prefix` is "" when both directories agree.
std::string write_manifest(const Lock& lock, std::string_view project, std::string_view layer,
                           const std::vector<const Package*>& packages, std::string_view path_prefix = "");

/// Reads a manifest. The result has `format` manifest, `layer` (and `layer_project` when the
/// manifest names its project) set, no groups, extras or
/// markers, and a named source in `sources` for every `source` name. Unknown keys, a wrong
/// manifest-version and malformed values are usage errors "source_name:line:col: ...".
Result<Lock> load_manifest(std::string_view text, std::string_view source_name);

/// True when `text` looks like a manifest (a `manifest-version` key at a line start).
bool looks_like_manifest(std::string_view text);

}  // namespace strata::lock
