#pragma once
// What a base image already holds in the environment `strata image` installs into: the installed
// distributions and strata's ledger, read from the base's files (never by running it) so that the
// overlay is decided as `strata install` decides it for that environment on disk (keep, conflict,
// replace); and what a replacement takes away from the base's layers, as whiteouts in the layer
// that replaces it (image-spec layer.md).

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "env/installed.hpp"
#include "env/ledger.hpp"
#include "oci/base.hpp"
#include "oci/layer.hpp"
#include "util/error.hpp"

namespace strata::plan {

/// The base's environment at the image's --env path.
struct BaseEnvironment {
  bool exists = false;                ///< the base has a virtual environment (pyvenv.cfg) there
  bool system_site_packages = false;  ///< its pyvenv.cfg includes the system site-packages
  std::string version;                ///< its pyvenv.cfg's Python version ("" when it records none)
  std::vector<std::filesystem::path> site_dirs;  ///< what its interpreter sees, in sys.path order
  env::InstalledSet installed;                   ///< paths as in the image
  env::Ledger ledger;
};

/// Reads the environment at `venv` (absolute, normal) from `files` (read with
/// oci::wanted_for_target's content). Its metadata is copied under `scratch` for
/// env::scan_installed and env::Ledger::load; paths come back as in the image. Site directories:
/// the venv's site-packages, then, with include-system-site-packages, the base interpreter's
/// (Debian's /usr/local/lib/python3.X/dist-packages, /usr/lib/python3/dist-packages, else
/// <prefix>/lib/python3.X/site-packages) that exist in the base.
Result<BaseEnvironment> read_base_environment(const oci::BaseFiles& files, const oci::BaseTarget& target,
                                              const std::filesystem::path& venv,
                                              const std::filesystem::path& scratch);

/// The base's paths (no leading "/") that committing a new version over the distribution at
/// `old_dist_info` removes, as commit_wheel removes them on disk (wheel/replaced.hpp): its RECORD
/// files not in `new_destinations` with their pycs, the .dist-info whole, and the directories that
/// leaves empty inside `roots` (with `new_destinations` counted as present).
Result<std::vector<std::string>> replaced_paths(const oci::BaseFiles& files,
                                                const std::filesystem::path& old_dist_info,
                                                const std::set<std::filesystem::path>& new_destinations,
                                                const std::vector<std::filesystem::path>& roots);

/// Whiteout entries hiding `removed` (paths of lower layers) in a layer whose own entries are
/// `entries`: a path the layer writes itself is overwritten, not hidden, and a hidden directory
/// hides everything below it.
std::vector<oci::LayerEntry> whiteouts(const std::vector<std::string>& removed,
                                       const std::vector<oci::LayerEntry>& entries);

}  // namespace strata::plan
