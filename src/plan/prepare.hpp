#pragma once
// The planning front half every command shares (install, fetch, and later plan, check, image):
// read the lock → content-hash → target → select → locate files known only by hash → choose
// wheels → overlay decisions. Each command calls prepare() and adds only its own tail. Nothing
// here downloads or writes artifacts (a hashed requirements.txt's files are looked up on the
// index pages, plan/locate.hpp).

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "env/installed.hpp"
#include "env/ledger.hpp"
#include "env/probe.hpp"
#include "env/target_spec.hpp"
#include "fetch/fetch.hpp"
#include "lock/load.hpp"
#include "lock/model.hpp"
#include "plan/artifacts.hpp"
#include "plan/decide.hpp"
#include "wheel/install.hpp"

namespace strata::plan {

/// What a planning command asks for: the lock, the selection and the target (SPEC "strata
/// install": target and selection flags), as plain data.
struct PlanRequest {
  std::string lock = ".";  ///< lock file or a directory holding one
  std::string env;         ///< --env: a virtual environment (planned against its base when missing)
  std::string python;      ///< --python: the interpreter ("" = python3 on PATH)
  std::string prefix;      ///< --prefix: the interpreter's scheme re-rooted here
  std::string target_dir;  ///< --target: pip's flat library directory (scripts in DIR/bin)
  /// --python-version/--platform/--implementation/--abi: a target without an interpreter
  /// (env/target_spec.hpp), described instead of probed; all empty = probe the interpreter.
  env::TargetSpec spec;
  std::vector<std::string> only, with, without, extras;
  bool all_extras = false;
  std::vector<std::string> packages;  ///< --package: uv.lock workspace members ("" = the root project)
  bool all_packages = false;          ///< --all-packages: every uv.lock workspace member
  std::string cache_dir;              ///< --cache-dir ("" = STRATA_CACHE_DIR, XDG_CACHE_HOME/strata)
  bool locked = false;                ///< a stale poetry.lock is an error (exit 3), not a warning
  bool allow_replace = false;         ///< conflicts become replacements
  bool exact = false;                 ///< an installed local build (2.5.1+cu124) is not the locked 2.5.1
  std::string owner;                  ///< --owner NAME ("" = the lock's project, see env/ledger.hpp)
  bool layer = false;                 ///< --layer: `lock` must be a layer manifest (its owner: the layer)
  /// Without --env, --python and --prefix: $VIRTUAL_ENV, else ./.venv, else python3 on PATH
  /// (env/default_target.hpp), said on a phase line; false: python3 on PATH.
  bool default_target = false;
  bool overlay = true;  ///< false: no owner, the environment is not read and nothing is decided (fetch)
  BuildPolicy build;    ///< what to do with packages the lock has only as source
  /// A target computed rather than probed (`strata image`: read from the base image's files): used
  /// as the interpreter of `env`, which is planned as not existing yet.
  std::optional<env::Interpreter> interpreter;
  /// The indexes, --find-links and --offline for locks that record files only by hash
  /// (plan/locate.hpp); its cache_dir is filled by prepare().
  fetch::FetchOptions index;
};

/// The environment strata writes into, with everything needed to install there.
struct Target {
  env::Interpreter interpreter;
  std::filesystem::path root;  ///< owns `.strata/` (ledger, lock, staging): env dir, prefix, or data dir
  wheel::SchemePaths scheme;
  std::vector<std::filesystem::path> site_dirs;  ///< what is visible, for the overlay check
  bool exists = true;  ///< false for an environment not created yet (planned against its base)
  /// Computed from PlanRequest::spec (env/target_spec.hpp), not probed: there is nothing to run,
  /// and interpreter.executable is only what the target's scripts name in their shebangs.
  bool described = false;
  std::string platform;  ///< the --platform text of a described target ("(the host)" without one)
  /// Where installs stage their files ("" = root/.strata): `strata image` stages outside the target.
  std::filesystem::path state_dir;
  /// What chose it: "--env", "--python", "--prefix", or without them "VIRTUAL_ENV", "./.venv", "PATH".
  std::string source;
};

/// Whether `spec` describes a target (any of its flags given).
bool is_described(const env::TargetSpec& spec);

/// What the environment holds and what to do about each selected package.
struct Overlay {
  env::InstalledSet installed;
  env::Ledger ledger;
  Decisions decisions;
  std::vector<std::string> conflicts;  ///< one line per conflict: "name version: reason; breaks …"
  /// What this owner installed before and the lock no longer has (not even at another version):
  /// removed by install unless --keep-removed. Never another owner's or an unmanaged one.
  std::vector<env::LedgerEntry> removed;
  std::size_t migrated = 0;  ///< legacy "lock:<path>" entries of this lock taken over by the owner
};

/// The front half's result. Move-only: the chosen wheels point into `lock` and `selection`.
struct Plan {
  Plan() = default;
  Plan(Plan&&) = default;
  Plan& operator=(Plan&&) = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  lock::LockFiles files;
  lock::Lock lock;
  std::optional<bool> fresh;          ///< Poetry: whether the content-hash matches pyproject.toml
  std::vector<std::string> warnings;  ///< what prepare() told the observer's on_warning (a stale lock, …)
  std::filesystem::path cache_root;
  env::ProbeOptions probe;
  Target target;
  lock::Selection selection;
  WheelChoices choices;                   ///< chosen wheels; problems: packages without one
  std::vector<SelectedPackage> selected;  ///< the chosen wheels, as the overlay check sees them
  std::string owner;                      ///< who the installed packages will belong to
  std::string legacy_owner;               ///< "lock:<path>": what older strata called this lock's owner
  bool exact = false;                     ///< PlanRequest::exact
  Overlay overlay;                        ///< empty when the request asked for no overlay

  /// The chosen wheel of a selected package (normalized name); throws for an unknown one.
  const ChosenWheel& wheel(std::string_view name) const;
  /// The build chosen for a selected package, or nullptr when it installs a wheel.
  const ChosenBuild* build(std::string_view name) const;
  /// Every reason the plan cannot be carried out: packages without a wheel, then conflicts.
  std::vector<std::string> problems() const;
};

/// What the front half tells its caller while it runs.
class PlanObserver {
 public:
  virtual ~PlanObserver() = default;
  /// A phase line, e.g. "Target /opt/venv/bin/python (Python 3.11.7)".
  virtual void on_phase(std::string_view /*line*/) {}
  virtual void on_warning(std::string_view /*line*/) {}
};

/// Runs the front half. Throws CommandError for usage (2) and runtime (1) failures and for a
/// stale lock with `locked` (3); packages without a wheel and conflicts are in the plan's
/// problems, for the caller to report.
Plan prepare(const PlanRequest& request, PlanObserver& observer);

/// The owner of what a plan of this lock installs (env/ledger.hpp): --owner, else the lock's
/// project, else for a pylock the project of a pyproject.toml beside it, else the lock's directory
/// name; a layer manifest's layer owner. `strata plan` writes it into its manifests as their project.
std::string owner_for(const PlanRequest& request, const lock::LockFiles& files, const lock::Lock& lock,
                      PlanObserver& observer);

/// Reads the target's installed set and ledger again and decides every selected package (what
/// another writer did since prepare() counts). Nothing is read for a target that does not exist.
/// Ledger entries an older strata recorded for this lock's path ("lock:<path>") count as the
/// plan's owner's (env/ledger.hpp: the migration).
Overlay check_overlay(const Plan& plan, bool allow_replace);

/// Decides every selected package of `plan` against a given installed set and ledger (a real
/// environment's, or a base lock's as `strata check --base` sees it). With `all_in_target` every
/// installed distribution counts as one of the target's own (none is in a base outside its library
/// directories): a base lock's packages, which the platform image installed into the same
/// environment the model's lock goes into.
Overlay decide_overlay(const Plan& plan, env::InstalledSet installed, env::Ledger ledger, bool allow_replace,
                       bool all_in_target = false);

/// Fills a target's scheme paths and the site dirs the overlay check reads (with --prefix, the
/// re-rooted library dirs come first).
Target with_scheme(Target target, bool prefix);

/// {"python", "version", "root", "purelib", "exists", "described"} (and for a described target
/// "implementation" and "platform") for reports.
nlohmann::json to_json(const Target& target);
/// The selection as lock::to_json gives it, each package's "installable" true only when the plan
/// installs it (a chosen wheel or a build): a package left out of the plan (no wheel for the
/// target, the project itself without --install-project) is false.
nlohmann::json selection_json(const Plan& plan);

}  // namespace strata::plan
