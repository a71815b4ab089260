#pragma once
// From a selection to the files to fetch: the chosen wheel of every selected package as a fetch
// request, with every package that has no usable wheel reported at once (before any download).
// Shared by `strata fetch` and `strata install`.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fetch/fetch.hpp"
#include "lock/model.hpp"
#include "plan/wheel_choice.hpp"

namespace strata::plan {

/// A selected package, the wheel chosen for the target, and the request that fetches it.
struct ChosenWheel {
  const lock::Package* package = nullptr;
  const lock::Artifact* artifact = nullptr;  ///< nullptr for a find-links wheel the lock does not name
  fetch::ArtifactRequest request;
  /// A --find-links wheel of the locked name and version taken for a package the lock has only
  /// as source: its hash is the file's, not a locked one.
  bool unlocked = false;
};

/// Where a package that needs a build comes from.
enum class BuildFrom {
  sdist,      ///< an index package's locked sdist
  archive,    ///< a `url` or `file` source archive
  directory,  ///< a local source tree
  git,        ///< a git repository at the locked commit
};

/// "sdist", "archive", "directory" or "git".
const char* to_string(BuildFrom from);

/// A selected package the lock has only as source, and what to build it from.
struct ChosenBuild {
  const lock::Package* package = nullptr;
  BuildFrom from = BuildFrom::sdist;
  /// sdist and archive: the file to fetch and verify against the lock's hash.
  std::optional<fetch::ArtifactRequest> request;
  std::filesystem::path directory;  ///< directory: the tree, absolute
  bool editable = false;            ///< directory: installed editable (PEP 660)
  bool project = false;             ///< the project itself (or a workspace member), --install-project
  std::string version;              ///< the locked version, or the tree's static version
  /// The source's identity before anything is fetched: "sha256:<hex>" of the archive,
  /// "git:<commit>[:<subdir>]", "dir:<hex>" of the tree, "editable:<hex>" of an editable tree's
  /// path and build configuration (build::editable_key); the ledger records it as the "wheel".
  std::string source_key;
};

/// How packages without a compatible wheel are treated (SPEC "Builds").
struct BuildPolicy {
  bool allow = false;                 ///< false: every package that needs a build is a problem (strata fetch)
  bool no_build = false;              ///< --no-build: list what would be built, build nothing
  std::set<std::string> only_binary;  ///< --only-binary NAMEs (normalized; ":all:" for every package)
  std::vector<std::filesystem::path> find_links;  ///< wheels taken in place of a source-only package
  bool install_project = false;                   ///< --install-project: build the project itself too
  bool no_editable = false;  ///< --no-editable: editable path dependencies are built as wheels
};

/// The chosen wheels and builds, in selection order, and one line per package that cannot be
/// installed (no compatible wheel, a source that cannot be built, no sha256 in the lock).
struct WheelChoices {
  std::vector<ChosenWheel> chosen;
  std::vector<ChosenBuild> builds;
  std::vector<std::string> problems;
  /// Lines for the user: the project itself left out, a find-links wheel taken for a source.
  std::vector<std::string> notes;
  /// Packages the lock does not list that a build points at (the Poetry project itself).
  std::vector<std::shared_ptr<const lock::Package>> extra_packages;
};

/// Why a locked wheel is not the package it is locked for (its file name names another project or
/// version; names compared normalized, versions as PEP 440 versions), or nothing when it is.
std::optional<std::string> identity_mismatch(const lock::Package& package, const lock::Artifact& artifact);

/// Chooses a wheel, or else a build, for every selected package (a chosen wheel whose file name is
/// another package's is a problem, before anything is downloaded). `lock_dir` resolves relative
/// artifact and directory paths.
WheelChoices choose_wheels(const lock::Lock& lock, const lock::Selection& selection,
                           const TagRanking& ranking, const std::filesystem::path& lock_dir,
                           const BuildPolicy& policy = {});

/// The fetch request of one locked artifact of `package` (`lock_dir` resolves relative paths).
fetch::ArtifactRequest request_for(const lock::Lock& lock, const lock::Package& package,
                                   const lock::Artifact& artifact, const std::filesystem::path& lock_dir);

/// Parses `--source NAME=URL` values; a malformed one is a usage error (URL credentials redacted).
Result<std::map<std::string, std::string>> parse_source_overrides(const std::vector<std::string>& values);

}  // namespace strata::plan
