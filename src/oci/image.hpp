#pragma once
// Image documents (image-spec config.md, manifest.md): a config derived from the base's with the
// added layers' DiffIDs, history and environment, and the manifest over the base's layers and the
// added ones. Canonical JSON (oci/layout.hpp) so the same inputs give the same digests.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "oci/layout.hpp"

namespace strata::oci {

/// One layer strata adds, as the config's rootfs and history record it.
struct AddedLayer {
  std::string diff_id;
  std::string created_by;  ///< the history line, e.g. "strata image: 03-numpy.toml"
};

/// "1970-01-01T00:00:00Z" for a Unix time.
std::string rfc3339(std::int64_t seconds);

/// The base config with `layers` appended to rootfs.diff_ids and history, `created` set, and in
/// config.Env VIRTUAL_ENV=`env` and `env`/bin first on PATH (the base's PATH, or the usual one);
/// the base's entrypoint, cmd, other env, labels, working dir and user stay.
nlohmann::json derive_config(const nlohmann::json& base_config, const std::vector<AddedLayer>& layers,
                             std::string_view env, std::int64_t created);

/// An OCI image manifest of `config` and `layers` (base layers with OCI media types first).
nlohmann::json image_manifest(const Descriptor& config, const std::vector<Descriptor>& layers);

}  // namespace strata::oci
