#pragma once
// JSON views of the lock model for --json reports; every URL in them is redacted.

#include <nlohmann/json.hpp>

#include "lock/model.hpp"

namespace strata::lock {

/// {"filename", "kind", "hashes", "url"?, "path"?, "size"?}.
nlohmann::json to_json(const Artifact& artifact);
/// {"name", "display_name", "version", "source", "artifacts", "installable"}.
nlohmann::json to_json(const Package& package);
/// {"packages": [...], "excluded": [{"name", "version", "reason"}], "groups", "extras"}.
nlohmann::json to_json(const Selection& selection);

}  // namespace strata::lock
