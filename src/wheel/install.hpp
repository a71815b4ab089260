#pragma once
// Installing one wheel into a scheme, atomically (binary distribution format and "recording
// installed projects" specifications), and repairing interrupted installs.
//
// Protocol: everything is extracted, verified against the wheel's RECORD, rewritten (scripts),
// generated (launchers, INSTALLER, REQUESTED, RECORD) and compiled (pycs) in a staging directory
// under the state directory (same filesystem as the target). Then a journal is written, the
// replaced distribution's .dist-info (if any) is moved out of site-packages, files are renamed
// into place, and the new .dist-info is renamed in last: that rename is what makes the
// distribution installed. Old files the new RECORD does not list are deleted afterwards.
// recover() finishes or rolls back whatever a killed process left behind.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "env/probe.hpp"
#include "util/error.hpp"
#include "wheel/archive.hpp"
#include "wheel/unpack.hpp"

namespace strata::wheel {

class Compiler;
namespace detail {
class Installer;
}

/// Where each part of a wheel goes (absolute paths). `headers` is the base directory; a project's
/// headers go to `headers / <project name>`, as pip does.
struct SchemePaths {
  std::filesystem::path purelib, platlib, scripts, data, headers;
};

/// The scheme paths of a probed interpreter (its `paths`: purelib, platlib, scripts, data,
/// headers — "include" when "headers" is absent). Fails naming the missing key.
Result<SchemePaths> scheme_paths(const env::Interpreter& interpreter);

/// Where and for whom a wheel is installed.
struct InstallTarget {
  SchemePaths scheme;
  /// Interpreter written into script shebangs and launchers, and used to compile bytecode.
  std::filesystem::path python;
  /// The environment's state directory (`<env>/.strata`): staging and journal live under it. Must be
  /// on the same filesystem as the scheme paths for the moves to be renames (copies otherwise).
  std::filesystem::path state_dir;
  /// The installed `.dist-info` directory of the distribution this wheel replaces, if any.
  std::optional<std::filesystem::path> replacing;
};

/// Test hook: stop (as if killed) right after a step of the protocol, leaving everything as is.
enum class FailPoint {
  none,
  after_staging,     ///< staged and verified, no journal yet
  after_journal,     ///< journal written, nothing moved
  after_old_moved,   ///< replaced .dist-info moved out of site-packages
  after_some_files,  ///< about half of the files renamed into place
  before_commit,     ///< all files in place, new .dist-info still staged
  after_commit,      ///< new .dist-info in place, old files and staging not yet cleaned
};

/// The project and version a wheel must be (the lock's): its METADATA Name and Version, and its
/// .dist-info directory's, must match (names normalized, versions as PEP 440 versions).
struct ExpectedIdentity {
  std::string name;
  std::string version;
};

/// How to install one wheel.
struct WheelInstallOptions {
  bool compile = true;           ///< write pycs for the .py files installed into purelib/platlib
  unsigned compile_workers = 0;  ///< interpreter processes for compilation; 0: number of cores
  /// Write REQUESTED (pip writes it for requirements the user asked for; everything selected from
  /// a lock counts as requested).
  bool requested = true;
  /// Content of direct_url.json (PEP 610), only for URL/path installs; empty: none.
  std::string direct_url_json;
  ArchiveLimits limits;
  /// Install from this unpacked tree of the wheel (see unpack_to_cache) instead of reading the
  /// archive; files get into staging with `link_mode`. The wheel path then only names messages.
  std::optional<UnpackedWheel> unpacked;
  LinkMode link_mode = LinkMode::automatic;
  /// Refuse the wheel unless it is this project at this version.
  std::optional<ExpectedIdentity> expected;
  /// Compile with this shared worker pool (which must run `InstallTarget::python`); null: start
  /// interpreter processes for this wheel alone.
  Compiler* compiler = nullptr;
  FailPoint fail_point = FailPoint::none;  ///< tests only
};

/// What install_wheel did.
struct InstalledWheel {
  std::string name;                               ///< METADATA Name
  std::string version;                            ///< METADATA Version
  std::filesystem::path dist_info;                ///< the installed .dist-info directory
  std::vector<std::filesystem::path> files;       ///< every file written, absolute, RECORD order
  std::size_t compiled = 0;                       ///< pycs written
  std::optional<std::filesystem::path> replaced;  ///< the replaced .dist-info, when any
  LinkMode link_mode = LinkMode::copy;  ///< how files came from an unpacked tree (copy also: extracted)
};

/// A wheel staged, verified, rewritten and compiled under the state directory, not yet visible in
/// the environment (see prepare_wheel). Destroying it uncommitted deletes its staging directory.
class PreparedWheel {
 public:
  PreparedWheel(PreparedWheel&&) noexcept;
  PreparedWheel& operator=(PreparedWheel&&) noexcept;
  ~PreparedWheel();
  /// The project's normalized name.
  const std::string& project() const;
  /// The wheel's file name, for messages.
  const std::string& wheel_name() const;
  /// Where it is installed (normalized paths).
  const InstallTarget& target() const;
  /// Every file commit would create or replace, absolute and lexically normal, each with the
  /// RECORD hash of its content ("sha256=…"), followed by its .dist-info directory (empty hash).
  std::vector<std::pair<std::filesystem::path, std::string>> destinations() const;
  /// Every staged file or directory with the path commit would move it to, the .dist-info
  /// directory last (`strata image` reads the staged files into a layer instead of committing).
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> staged() const;

 private:
  explicit PreparedWheel(std::unique_ptr<detail::Installer> installer);
  friend Result<PreparedWheel> prepare_wheel(const std::filesystem::path&, const InstallTarget&,
                                             WheelInstallOptions);
  friend Result<InstalledWheel> commit_wheel(PreparedWheel);
  std::unique_ptr<detail::Installer> installer_;
};

/// The first half of install_wheel: everything that happens in staging (extracting or linking,
/// verification, scripts, launchers, metadata, bytecode). Nothing outside the staging directory
/// changes, so several wheels may be prepared at once from different threads.
Result<PreparedWheel> prepare_wheel(const std::filesystem::path& wheel, const InstallTarget& target,
                                    WheelInstallOptions options);

/// The second half: checks the environment (a pending journal, another installed version, a
/// directory in the way), writes the journal and moves the staged files into place, .dist-info
/// last. Call with the environment's writer lock held, one commit at a time.
Result<InstalledWheel> commit_wheel(PreparedWheel prepared);

/// Installs `wheel` into `target` (prepare_wheel, check_conflicts against the distributions in the
/// target's library directories, then commit_wheel). Refuses hostile or inconsistent wheels
/// (see ArchiveReader; also: no or several .dist-info directories, a .dist-info not matching the file name,
/// an unsupported Wheel-Version, files missing from RECORD or not matching its hash or size, a
/// file name, .dist-info and METADATA that disagree on the name or version, files inside a metadata
/// directory, a file it does not own in the way) before anything outside the staging directory changes. Fails
/// if a journal of an unfinished install of the same project exists (call recover() first) or if another
/// version of the project is installed and not named in `target.replacing`.
Result<InstalledWheel> install_wheel(const std::filesystem::path& wheel, const InstallTarget& target,
                                     const WheelInstallOptions& options);

/// What recover() did.
struct RecoveryReport {
  std::vector<std::string> completed;    ///< projects whose interrupted install was finished
  std::vector<std::string> rolled_back;  ///< projects removed because their install could not finish
  std::size_t staging_removed = 0;       ///< abandoned staging directories deleted
};

/// Finishes (or, when the staged files are gone, rolls back) every install journaled under
/// `state_dir`, and deletes abandoned staging directories. Call it with the environment's writer
/// lock held, before installing.
Result<RecoveryReport> recover(const std::filesystem::path& state_dir);

/// What remove_distribution() deleted.
struct RemovedDistribution {
  std::filesystem::path dist_info;  ///< the .dist-info that was removed
  std::size_t files = 0;            ///< RECORD files deleted (pycs not counted)
};

/// Uninstalls the distribution whose `.dist-info` is `dist_info` from `target`'s scheme paths.
/// The .dist-info is first renamed into staging (from then on the distribution is not installed;
/// a kill later leaves at worst unclaimed files, never a half-present distribution), then every
/// RECORD file inside the scheme paths (never under `target.state_dir`, never one another
/// .dist-info in the same library directory also lists, such as a shared namespace
/// `__init__.py`) is deleted with its pycs, emptied directories are pruned, and staging goes.
Result<RemovedDistribution> remove_distribution(const std::filesystem::path& dist_info,
                                                const InstallTarget& target);

/// Removes the staging and journal directories under `state_dir` when they are empty, and then
/// `state_dir` itself when empty, so that an install leaves no new state entries behind (an image
/// layer holds only what it installed). Call it with the writer lock held, after the last commit.
void remove_empty_state_dirs(const std::filesystem::path& state_dir);

}  // namespace strata::wheel
