#pragma once
// The ledger: what strata installed into an environment and for which owner, kept in
// `<env>/.strata/ledger.json`.
//
// Owners are opaque strings compared for equality:
//   "lock:<path>"  — the absolute, symlink-resolved path of the lock file. The path, not the
//                    content: editing the lock (bumping a version) and re-installing must replace
//                    the packages the same lock installed before, not conflict with them.
//   "layer:<name>" — a `strata plan` layer manifest, by its layer name.
// The file holds no timestamps unless a caller sets `installed_at`, so that installing the
// same lock twice writes the same bytes (reproducible image layers).

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::env {

/// One distribution strata installed.
struct LedgerEntry {
  std::string name;     ///< PEP 503 normalized
  std::string version;  ///< as installed (METADATA Version)
  std::string owner;    ///< "lock:<path>" or "layer:<name>"
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

/// The owner identity of a lock file: "lock:" + its absolute path with symlinks resolved (the
/// file need not exist). Fails only when the current directory cannot be read.
Result<std::string> lock_owner(const std::filesystem::path& lock_file);
/// The owner identity of a layer manifest: "layer:" + name.
std::string layer_owner(std::string_view layer_name);

/// The ledger of one environment, in memory. Load it, change it, save it (under the
/// environment lock, see env_lock.hpp).
class Ledger {
 public:
  /// `<env>/.strata/ledger.json`.
  static std::filesystem::path file_for(const std::filesystem::path& env_dir);
  /// Loads the ledger of `env_dir`; a missing file is an empty ledger. A corrupt file is an
  /// error (kind runtime) naming the file and how to repair it.
  static Result<Ledger> load(const std::filesystem::path& env_dir);
  /// Parses ledger JSON; errors name `source`.
  static Result<Ledger> parse(std::string_view text, std::string_view source);

  /// Canonical JSON text (sorted keys, 2-space indent, trailing newline).
  std::string dump() const;
  /// Writes the ledger atomically, creating `<env>/.strata/` when needed.
  Result<void> save(const std::filesystem::path& env_dir) const;

  /// Records an install (replacing any entry of the same name). `entry.name` is normalized here.
  void record_install(LedgerEntry entry);
  /// Forgets a distribution; false when the ledger did not know it.
  bool record_removal(std::string_view name);

  /// The entry for `name` (normalized or not), or nullptr.
  const LedgerEntry* find(std::string_view name) const;
  /// The owner recorded for `name`, or nullopt when strata did not install it.
  std::optional<std::string> owner_of(std::string_view name) const;
  /// Every entry, by normalized name.
  const std::map<std::string, LedgerEntry, std::less<>>& entries() const { return entries_; }

 private:
  std::map<std::string, LedgerEntry, std::less<>> entries_;
};

}  // namespace strata::env
