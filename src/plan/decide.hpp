#pragma once
// Overlay decisions (SPEC "Overlay"): for each selected package, what to do given what the
// environment already holds and who owns it. Pure: no I/O.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "env/installed.hpp"
#include "env/ledger.hpp"
#include "pep/marker.hpp"
#include "pep/version.hpp"

namespace strata::plan {

/// A package the selection wants in the environment, with the wheel chosen for the target.
struct SelectedPackage {
  std::string name;  ///< project name (normalized by decide)
  pep::Version version;
  std::string wheel;   ///< chosen wheel file name
  std::string sha256;  ///< hex sha256 of that wheel from the lock (may be empty if unlocked)
};

enum class Action {
  install,   ///< not installed yet
  keep,      ///< already there at the same version: not downloaded, not touched
  replace,   ///< another version (or another wheel of ours) is removed and the locked one installed
  conflict,  ///< another version that strata may not remove (owned by someone else, unmanaged)
};

/// "install", "keep", "replace" or "conflict".
std::string_view to_string(Action action);

/// An installed distribution whose Requires-Dist a replacement would no longer satisfy.
struct BrokenDependent {
  std::string name;         ///< display name of the installed distribution that depends
  std::string version;      ///< its installed version
  std::string requirement;  ///< the Requires-Dist value, as written
};

/// What happens to one selected package.
struct Decision {
  Action action = Action::install;
  std::string name;  ///< normalized
  pep::Version version;
  std::string wheel;
  std::string sha256;
  /// The visible installed distribution of that name, when there is one.
  std::optional<std::string> installed_version;
  std::string installed_owner;  ///< ledger owner of the installed one; empty when unmanaged or absent
  std::string installer;        ///< its INSTALLER, empty when unknown
  std::filesystem::path installed_path;  ///< its .dist-info / .egg-info path
  /// A conflict that allow_replace turned into a replacement.
  bool forced = false;
  /// A keep of a local build: the installed version is the locked public version with a local
  /// label (2.5.1+cu124 for the lock's 2.5.1), which satisfies the lock (PEP 440 `==2.5.1`).
  bool local_build = false;
  /// The installed distribution lies outside the target's library directories (a base seen
  /// through system site-packages or a Debian dist-packages): a replacement shadows it there.
  bool in_base = false;
  /// One sentence saying why, e.g. "2.31.0 is installed, unmanaged (installer pip)".
  std::string reason;
  /// For replacements and conflicts: installed distributions (other than ones being replaced or
  /// conflicting) that require a version of this package that the locked version does not
  /// satisfy — what the replacement breaks, or would break with allow_replace.
  std::vector<BrokenDependent> broken;
};

struct DecideOptions {
  std::string owner;               ///< the current owner: a project or "layer:…" (see ledger.hpp)
  bool allow_replace = false;      ///< turn conflicts into replacements
  pep::MarkerEnvironment markers;  ///< the target's marker environment (for Requires-Dist markers)
  /// Require the locked build: an installed local build of the locked public version
  /// (2.5.1+cu124 for 2.5.1) is then another version, not a keep.
  bool exact = false;
  /// The target's library directories (purelib, platlib). A distribution elsewhere is in the
  /// base: never modified, and with allow_replace shadowed by the locked version (even legacy
  /// egg-info). Empty: every distribution counts as the target's own.
  std::vector<std::filesystem::path> library_dirs;
};

struct Decisions {
  std::vector<Decision> decisions;  ///< one per selected package, in selection order
  /// Things worth a warning, each naming its file: Requires-Dist values that do not parse.
  std::vector<std::string> warnings;

  std::size_t count(Action action) const;
  bool has_conflicts() const { return count(Action::conflict) > 0; }
};

/// Decides every selected package at once (so that every conflict is reported together).
/// A distribution counts as strata's only when the ledger records it at the installed version;
/// otherwise it is unmanaged. Legacy egg-info distributions are never replaced, even with
/// allow_replace (strata cannot remove them safely): a different version stays a conflict, unless
/// it is in the base (outside options.library_dirs), where the replacement only shadows it.
Decisions decide(const std::vector<SelectedPackage>& selected, const env::InstalledSet& installed,
                 const env::Ledger& ledger, const DecideOptions& options);

/// The owner of an installed distribution per the ledger, or empty when unmanaged.
std::string owner_of(const env::InstalledDistribution& distribution, const env::Ledger& ledger);

/// JSON for reports: {"action", "name", "version", "wheel", "installed_version"?, ...}.
nlohmann::json to_json(const Decision& decision);
/// {"decisions": [...], "warnings": [...], "counts": {"install": n, ...}}.
nlohmann::json to_json(const Decisions& decisions);

}  // namespace strata::plan
