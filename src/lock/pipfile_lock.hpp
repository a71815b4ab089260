#pragma once
// Pipfile.lock (pipfile-spec 6, as pipenv writes it); its `_meta.hash` is checked against the
// Pipfile beside it by lock::pipfile_hash (lock/content_hash.hpp).

#include <string_view>

#include "lock/model.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// Reads a Pipfile.lock document: `_meta.sources` (indexes; a package's `index` names one),
/// `_meta.hash`, and every category as a group — `default` (the main group), `develop` (group
/// "dev") and pipenv's named categories — with `version`, `hashes` (files found on the index by
/// hash), `markers`, and `git`/`path`/`file` entries. Malformed input is a usage error naming the
/// file and, for JSON syntax, line and column, else the entry ("Pipfile.lock: default.requests: …").
Result<Lock> read_pipfile_lock(std::string_view text, std::string_view source_name);

/// True when text looks like a Pipfile.lock: a JSON object with a "_meta" key.
bool looks_like_pipfile_lock(std::string_view text);

}  // namespace strata::lock
