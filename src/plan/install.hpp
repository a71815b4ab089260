#pragma once
// `strata install`: the planning front half (plan/prepare.hpp: lock → target → select → wheels →
// overlay) → lock the environment → fetch and prepare wheels → commit → record → report. The CLI
// fills InstallOptions and prints the InstallReport; nothing here draws on the terminal.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fetch/fetch.hpp"
#include "fetch/progress.hpp"
#include "plan/prepare.hpp"
#include "util/error.hpp"

namespace strata::plan {

/// Every flag of `strata install` (SPEC "strata install"), as plain data.
struct InstallOptions {
  std::string lock = ".";  ///< lock file or a directory holding one
  std::string env;         ///< --env: a virtual environment, created when missing
  std::string python;      ///< --python: the interpreter (alone: its own environment)
  std::string prefix;      ///< --prefix: the interpreter's scheme re-rooted here
  std::string target_dir;  ///< --target: pip's flat library directory, scripts in DIR/bin
  env::TargetSpec spec;    ///< --python-version/--platform/…: a target without an interpreter
  std::vector<std::string> only, with, without, extras;
  bool all_extras = false;
  std::vector<std::string> packages;  ///< --package: uv.lock workspace members
  bool all_packages = false;          ///< --all-packages
  std::string index_url;              ///< --index-url / STRATA_INDEX_URL
  std::vector<std::string> sources;   ///< --source NAME=URL
  std::vector<std::string> find_links;
  bool offline = false;
  std::string cache_dir;
  bool dry_run = false;
  bool no_compile = false;
  std::string link_mode = "auto";
  bool allow_replace = false;
  bool exact = false;         ///< --exact: an installed local build is not the locked version
  bool locked = false;        ///< a stale poetry.lock is an error, not a warning
  std::string layer;          ///< --layer: one manifest written by `strata plan` (not available yet)
  std::string owner;          ///< --owner NAME: the owner instead of the lock's project
  bool keep_removed = false;  ///< --keep-removed: keep this owner's packages the lock no longer has
  // Builds (SPEC "Builds").
  bool no_build = false;                                 ///< --no-build: exit 3 listing what would be built
  std::vector<std::string> only_binary;                  ///< --only-binary NAME (":all:" for every package)
  bool no_build_isolation = false;                       ///< --no-build-isolation
  std::vector<std::string> no_build_isolation_packages;  ///< --no-build-isolation-package NAME
  std::string build_constraints;                         ///< --build-constraints FILE
  unsigned build_jobs = 0;                               ///< --build-jobs N; 0: the cores
  bool install_project = false;                          ///< --install-project
  bool no_editable = false;                              ///< --no-editable
  /// `strata image`: builds for its computed target run with this host interpreter of the target's
  /// X.Y (nullopt: the target's own).
  std::optional<env::Interpreter> build_interpreter;
};

/// The stages of an install that take time. They overlap (a wheel unpacks and compiles while
/// others download); each is a line when it ends and, on a terminal, a bar while it runs.
enum class Stage { download, unpack, compile, commit };

/// One package committed, for the per-package line (`+ numpy 2.2.6 (downloaded 15.1 MiB)`).
struct InstalledPackage {
  std::string_view name, version;
  std::string_view replaced_version;  ///< the version it replaced, or empty
  fetch::ArtifactOrigin origin = fetch::ArtifactOrigin::cache;
  bool built = false;               ///< built from source here (origin is then the source's)
  bool build_cached = false;        ///< its built wheel came from the cache
  std::uint64_t bytes = 0;          ///< the file's size when downloaded
  std::size_t done = 0, total = 0;  ///< this is the done-th of total commits
};

/// What the flow tells its caller while it runs (phases, warnings, download progress). Called from
/// several threads at once (builds report while files download): implementations synchronize.
class InstallObserver : public PlanObserver, public fetch::ProgressObserver {
 public:
  /// A stage begins with `total` items (wheels to unpack, packages to commit; the download's
  /// count comes with on_start, the compile's as files are queued).
  virtual void on_stage(Stage /*stage*/, std::size_t /*total*/) {}
  /// A stage has ended: every item of it is done (or the install stopped).
  virtual void on_stage_done(Stage /*stage*/) {}
  /// One wheel's files are unpacked and staged (`files` of them).
  virtual void on_unpacked(std::string_view /*name*/, std::size_t /*files*/) {}
  /// Bytecode: `queued` more files to compile, `done` more compiled.
  virtual void on_compiling(std::size_t /*queued*/, std::size_t /*done*/) {}
  /// One package is committed into the environment.
  virtual void on_installed(const InstalledPackage& /*package*/) {}
};

/// The result of one install (or dry run).
struct InstallReport {
  int exit_code = 0;  ///< 0, or 3 when conflicts / missing wheels stopped the install
  std::size_t installed = 0, replaced = 0, kept = 0, conflicts = 0;
  std::size_t kept_local = 0;                 ///< of `kept`: local builds of the locked version (2.5.1+cu124)
  std::size_t removed = 0, kept_removed = 0;  ///< this owner's packages the lock no longer has
  std::size_t downloaded = 0;                 ///< files downloaded (wheels, and sources to build)
  std::size_t cached = 0;                     ///< wheels found in the cache
  std::size_t linked = 0;                     ///< wheels from --find-links (or a lock's local path)
  std::size_t built = 0, builds_cached = 0;   ///< wheels built from source, and found built in the cache
  std::chrono::milliseconds elapsed{0};
  /// One human line, e.g. "Installed 42 packages (3 replaced, 12 kept; 40 downloaded, 2 cached) in
  /// 1.80s" (see summary_line).
  std::string summary;
  std::vector<std::string> problems;  ///< human lines explaining a nonzero exit code
  nlohmann::json json;                ///< the --json document
};

/// What `options` say about packages the lock has only as source (builds allowed; --no-build,
/// --only-binary, --find-links wheels taken in place of a source, --install-project, --no-editable).
BuildPolicy build_policy(const InstallOptions& options);

/// The summary of an install that ran from its counts and elapsed time: "Installed 42 packages (3
/// replaced, 12 kept, 1 removed as no longer locked; 30 downloaded, 12 cached) in 1.80s", "Nothing
/// to do: 12 packages already installed (0.05s)"; zero counts are left out, nouns agree in number.
std::string summary_line(const InstallReport& report);
/// The summary of a dry run: "Would install 42 packages (3 replaced, 12 kept); nothing was changed".
std::string dry_run_summary(const InstallReport& report);

/// Runs `strata install`. Throws CommandError for failures with exit codes 1 and 2; conflicts and
/// packages without a compatible wheel come back as a report with exit code 3, before anything is
/// downloaded or written.
InstallReport run_install(const InstallOptions& options, InstallObserver& observer);

/// The wheels of `plan`'s install and replace decisions, fetched and prepared (staged, verified,
/// compiled) exactly as `strata install` prepares them, in decision order; nothing committed.
/// `strata image` lays them into layers (staging under plan.target.state_dir).
struct StagedWheels {
  std::vector<std::string> names;  ///< normalized, one per prepared wheel
  std::vector<fetch::FetchedArtifact> fetched;
  std::vector<wheel::PreparedWheel> prepared;
  /// Per prepared wheel built from source: its source key ("sha256:…", "git:…", "dir:…") and the
  /// build requirements used, as install's ledger records them.
  std::vector<std::optional<std::string>> built_from;
  std::vector<std::vector<std::string>> build_requirements;
  std::size_t downloaded = 0;
  std::size_t built = 0;  ///< wheels built here (not found built in the cache)
};
StagedWheels stage_wheels(const Plan& plan, const InstallOptions& options, InstallObserver& observer);

}  // namespace strata::plan
