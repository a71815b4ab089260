#pragma once
// Poetry's content-hash: sha256 of json.dumps(<relevant pyproject content>, sort_keys=True), where
// the relevant content depends on the Poetry version that wrote the lock; pipenv's Pipfile hash.

#include <string>
#include <string_view>
#include <vector>

#include "lock/model.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// How a Poetry version picks the hashed content.
enum class ContentHashStyle {
  poetry_1_1,  ///< tool.poetry dependencies, dev-dependencies, source, extras (null when absent)
  poetry_1_2,  ///< the same plus tool.poetry.group when present
  poetry_2_0,  ///< + [project] requires-python/dependencies/optional-dependencies (Poetry 2.0-2.2)
  poetry_2_3,  ///< + [dependency-groups] (Poetry 2.3 and later)
};

/// The styles to try for a lock written by `poetry_version` ("" or unparsable: all of them).
std::vector<ContentHashStyle> content_hash_styles(std::string_view poetry_version);

/// The content-hash Poetry computes for this pyproject.toml text; errors are usage errors with
/// "file:line:col".
Result<std::string> poetry_content_hash(std::string_view pyproject_text, std::string_view source_name,
                                        ContentHashStyle style);

/// The canonical JSON Poetry hashes (json.dumps(..., sort_keys=True)), exposed for tests.
Result<std::string> poetry_hashed_json(std::string_view pyproject_text, std::string_view source_name,
                                       ContentHashStyle style);

/// True when the lock's content-hash equals the one recomputed from `pyproject_text` by the
/// Poetry version that wrote the lock (any known version when the header does not say).
Result<bool> content_hash_matches(const Lock& lock, std::string_view pyproject_text,
                                  std::string_view source_name);

/// pipenv's `_meta.hash` of a Pipfile (plette's Pipfile.get_hash): sha256 of json.dumps of its
/// sources (PyPI when it names none), requires and package categories, sort_keys, separators
/// (",", ":"); lower-case hex. Errors are usage errors with "file:line:col".
Result<std::string> pipfile_hash(std::string_view pipfile_text, std::string_view source_name);

}  // namespace strata::lock
