#pragma once
// uv.lock (`version = 1`, revisions 0 to 4 as uv writes them). uv.lock has no published
// specification; the facts here follow uv's own reader (crates/uv-resolver/src/lock in
// astral-sh/uv) and the selection follows `uv sync` (installable.rs there).

#include <set>
#include <string>
#include <string_view>

#include "lock/model.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// Reads a uv.lock document into the lock model. Malformed or unsupported content (a `version`
/// other than 1) is a usage error with "file:line:col".
Result<Lock> read_uv_lock(std::string_view text, std::string_view source_name);

/// True when `text` looks like a uv.lock: its first statement is `version = N`. The reader does
/// the real checking.
bool looks_like_uv_lock(std::string_view text);

/// What uv_select needs of the target (groups and extras already checked against the lock).
struct UvTarget {
  const pep::MarkerEnvironment* environment = nullptr;
  std::set<std::string> groups;  ///< requested dependency groups (normalized); "main": the members' own
  std::set<std::string> extras;  ///< requested extras of the selected members (normalized)
  std::vector<std::string> packages;
  bool all_packages = false;
};

/// `uv sync`'s selection: from the workspace root project (or the named members, or all of them),
/// the dependencies whose markers hold for the target, with the requested extras and groups;
/// conflict markers are evaluated against what is activated. Workspace members and the project
/// are excluded as "the project". Two activated items of one conflict set are a usage error.
/// (select() checks requires-python and supported-markers first.)
Result<Selection> uv_select(const Lock& lock, const UvTarget& target, Selection selection);

}  // namespace strata::lock
