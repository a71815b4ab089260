#pragma once
// The OCI and Docker media types strata reads and writes; only oci/ names them.

#include <string_view>

namespace strata::oci {

inline constexpr std::string_view kOciLayoutVersion = "1.0.0";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// An image index (OCI) or manifest list (Docker).
inline bool is_index_type(std::string_view type) { return type == kOciIndex || type == kDockerManifestList; }
/// An image manifest (OCI, or Docker v2 schema 2).
inline bool is_manifest_type(std::string_view type) {
  return type == kOciManifest || type == kDockerManifest;
}

}  // namespace strata::oci
