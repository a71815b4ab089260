#pragma once
// The ledger: what strata installed into an environment and for which owner, one state file per
// owner under `<env>/.strata/owners/` (SPEC "Installing": no file is written by two layers, so
// that each layer's diff holds only its own files).
//
// Owners are opaque strings compared for equality:
//   "<project>"    — a project: the normalized `[project].name` / `[tool.poetry].name` of the
//                    lock's pyproject.toml, `--owner NAME`, or for a pylock.toml without one the
//                    normalized name of its directory. The same project at a bumped lock replaces
//                    its own packages; another project's are a conflict.
//   "layer:<name>" — a `strata plan` layer manifest, by its layer name.
//   "lock:<path>"  — legacy: what strata wrote before owners were projects (the lock file's
//                    absolute path). Read from the old `<env>/.strata/ledger.json`; an install of
//                    the lock at that path takes them over (Ledger::reassign), and the next save
//                    moves every entry into the owner files and deletes ledger.json.
// The files hold no timestamps unless a caller sets `installed_at`, so that installing the
// same lock twice writes the same bytes (reproducible image layers).

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::env {

/// One distribution strata installed.
struct LedgerEntry {
  std::string name;     ///< PEP 503 normalized
  std::string version;  ///< as installed (METADATA Version)
  std::string owner;    ///< see the file comment
  std::string wheel;    ///< wheel file name
  std::string sha256;   ///< hex sha256 of the wheel file
  std::string
      dist_info;  ///< the `.dist-info` directory (its RECORD lists the files), as the installer gives it
  std::optional<std::string> installed_at;  ///< optional, caller-supplied; omitted by default
  /// A wheel strata built: what from ("sha256:<hex>" of the sdist, "git:<commit>", "dir:<hash>"),
  /// and the build requirements used ("name==version"). Omitted for locked wheels.
  std::optional<std::string> built_from;
  std::vector<std::string> build_requirements;

  bool operator==(const LedgerEntry&) const = default;
};

/// The legacy owner identity of a lock file: "lock:" + its absolute path with symlinks resolved
/// (the file need not exist). Fails only when the current directory cannot be read.
Result<std::string> lock_owner(const std::filesystem::path& lock_file);
/// The owner identity of a layer manifest: "layer:<project>/<name>" ("layer:<name>" for a
/// manifest that names no project), so that one project's later manifest of a layer replaces its
/// own packages while another project's layer of the same name is another owner (a conflict).
std::string layer_owner(std::string_view project, std::string_view layer_name);
/// A project owner from a name (a project name or `--owner NAME`): PEP 503 normalized. Not a
/// valid project name (letters, digits, ".", "-", "_", starting and ending with a letter or
/// digit): a usage error naming `what`.
Result<std::string> project_owner(std::string_view name, std::string_view what);
/// The state file name of an owner: every byte but ASCII letters, digits, "-" and "_"
/// percent-encoded, then ".json" ("layer:base" -> "layer%3Abase.json"). One owner, one name.
std::string owner_file_name(std::string_view owner);

/// The ledger of one environment, in memory: the union of its owner files. Load it, change it,
/// save it (under the environment lock, see env_lock.hpp).
class Ledger {
 public:
  /// `<env>/.strata/owners`.
  static std::filesystem::path owners_dir(const std::filesystem::path& env_dir);
  /// `<env>/.strata/owners/<owner_file_name(owner)>`.
  static std::filesystem::path file_for(const std::filesystem::path& env_dir, std::string_view owner);
  /// `<env>/.strata/ledger.json`: the single ledger older strata versions wrote.
  static std::filesystem::path legacy_file_for(const std::filesystem::path& env_dir);

  /// Loads every owner file of `env_dir` and the legacy ledger.json (owner files win for a name
  /// both hold). Nothing there is an empty ledger. A corrupt file is an error (kind runtime)
  /// naming the file and how to repair it. Loading writes nothing.
  static Result<Ledger> load(const std::filesystem::path& env_dir);
  /// Parses one state file: an owner file (format 2) or a legacy ledger (format 1); errors name
  /// `source`.
  static Result<Ledger> parse(std::string_view text, std::string_view source);

  /// The canonical text of one owner's file (sorted keys, 2-space indent, trailing newline).
  std::string dump(std::string_view owner) const;
  /// Writes the file of every owner whose entries differ from what is on disk, removes the file
  /// of an owner left with none, and after a migration removes the legacy ledger.json; files of
  /// unchanged owners are not touched. Creates `<env>/.strata/owners/` when needed.
  Result<void> save(const std::filesystem::path& env_dir);

  /// Records an install (replacing any entry of the same name). `entry.name` is normalized here.
  void record_install(LedgerEntry entry);
  /// Forgets a distribution; false when the ledger did not know it.
  bool record_removal(std::string_view name);
  /// Gives every entry of owner `from` to owner `to`; how many moved.
  std::size_t reassign(std::string_view from, std::string_view to);

  /// The entry for `name` (normalized or not), or nullptr.
  const LedgerEntry* find(std::string_view name) const;
  /// The owner recorded for `name`, or nullopt when strata did not install it.
  std::optional<std::string> owner_of(std::string_view name) const;
  /// Every entry, by normalized name.
  const std::map<std::string, LedgerEntry, std::less<>>& entries() const { return entries_; }
  /// Every owner that holds an entry, sorted.
  std::set<std::string> owners() const;
  /// The state files load() read, sorted (the legacy ledger first).
  const std::vector<std::filesystem::path>& files() const { return files_; }
  /// Whether load() read the legacy ledger.json.
  bool has_legacy() const { return legacy_; }

 private:
  std::map<std::string, LedgerEntry, std::less<>> entries_;
  std::map<std::string, std::string, std::less<>> on_disk_;  ///< owner -> its file's text as read
  std::vector<std::filesystem::path> files_;
  bool legacy_ = false;
};

}  // namespace strata::env
