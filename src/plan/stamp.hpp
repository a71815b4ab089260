#pragma once
// The no-op stamp: what the last install into an environment left there, so that an unchanged lock
// installed with the same flags into an unchanged environment answers from one file read and a
// few stat(2)s, without parsing the lock or any METADATA (SPEC "strata install").
//
// A stamp lives in the cache, <cache>/stamps/<key digest>.json, one per environment and set of
// flags: never in the environment, whose files end up in image layers. It holds the
// no-op report the full path would give and what that report was computed from: the lock's (and
// pyproject's) stat and sha256, and the stat (device, inode, size, mtime, ctime) of the
// environment's interpreter, its site directories, each distribution's directory, METADATA and
// RECORD, the ledger files, the --find-links directories and the strata executable. Any change
// there (a pip install, a removed file in a dist-info directory, another owner's install, a new
// lock, other flags) makes the stamp not match and the install takes the full path, which
// writes a new stamp. Written atomically, under the environment lock.

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace strata::plan {

struct InstallOptions;
struct Plan;

/// The stamp an install with `options` would read and write, or nullopt when such an install has
/// none (a dry run, --layer, a target other than an existing --env).
struct StampFile {
  std::filesystem::path env_root;  ///< the --env directory, absolute
  std::filesystem::path path;      ///< <cache>/stamps/<sha256 of key>.json
  std::string lock_argument;       ///< the lock as given (a file or a directory holding one)
  std::filesystem::path cache_root;
  std::string key;  ///< sha256 of every flag, the working directory and STRATA_INDEX_URL
};
std::optional<StampFile> stamp_file(const InstallOptions& options);

/// The no-op report stored in `stamp`, when the stamp matches the lock and the environment as they
/// are now; nullopt otherwise (missing, unreadable, another key, anything changed).
std::optional<nlohmann::json> read_stamp(const StampFile& stamp);

/// What a stamp records of a plan's inputs and its environment, as they are now (a JSON object
/// compared whole by read_stamp); null when the plan gets no stamp (git or directory sources, a
/// stale lock, problems, a .pth file that adds directories, a filesystem without sub-second
/// times). Waits (at most 50 ms) until every watched time is older than 50 ms: a change within
/// one tick of the filesystem's clock leaves a stat as it was (git's "racy" entries), so after
/// that any change gives a newer ctime.
nlohmann::json stamp_state(const Plan& plan, const InstallOptions& options);

/// Writes the stamp atomically: `noop_report` is the --json document (without ok, results,
/// summary, timings) a no-op install would give now; `before` is stamp_state() taken before that
/// report was computed, and nothing is written unless the state is still the same (another
/// writer, not holding the environment lock, changed it meanwhile). Returns whether it wrote.
bool write_stamp(const StampFile& stamp, const Plan& plan, const InstallOptions& options,
                 const nlohmann::json& before, const nlohmann::json& noop_report);

}  // namespace strata::plan
