#pragma once
// OCI image layout directories (image-spec image-layout.md): `oci-layout`, `index.json` and
// content-addressed blobs under `blobs/sha256/`, with the descriptors that point at them and
// every media type strata reads or writes. Only `oci/` spells media types.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace strata::oci {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// The annotation an index entry's tag is kept in.
inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";

/// True for a manifest media type (OCI or Docker schema 2), an index (OCI index or Docker
/// manifest list), a layer strata can read (tar, tar+gzip, tar+zstd, Docker's tar.gzip).
bool is_manifest_type(std::string_view media_type);
bool is_index_type(std::string_view media_type);
bool is_layer_type(std::string_view media_type);
/// The OCI media type of a layer of `media_type` with the same bytes (Docker's tar.gzip is OCI's
/// tar+gzip); the media type itself for OCI layers.
std::string oci_layer_type(std::string_view media_type);

/// os/architecture[/variant] of an index entry.
struct Platform {
  std::string os = "linux";
  std::string architecture;
  std::string variant;
  /// "linux/amd64", "linux/arm64/v8".
  std::string str() const;
};
/// Parses "os/arch[/variant]"; a usage error names `text`.
Result<Platform> parse_platform(std::string_view text);
/// The platform of this machine (linux/amd64, linux/arm64, …).
Platform host_platform();

/// A content descriptor (image-spec descriptor.md).
struct Descriptor {
  std::string media_type;
  std::string digest;  ///< "sha256:<64 hex>"
  std::uint64_t size = 0;
  std::optional<Platform> platform;                ///< index entries only
  std::map<std::string, std::string> annotations;  ///< sorted, so JSON is stable
};
nlohmann::json to_json(const Descriptor& descriptor);
/// Reads a descriptor; errors (usage) name `subject` and the field.
Result<Descriptor> descriptor_from_json(const nlohmann::json& json, std::string_view subject);

/// "sha256:<hex>" of `bytes`.
std::string sha256_digest(std::string_view bytes);
/// The hex of a "sha256:<64 hex>" digest; a usage error for any other algorithm or form.
Result<std::string> digest_hex(std::string_view digest);

/// Canonical JSON bytes for image documents: sorted keys, no whitespace (what the digests cover).
std::string canonical_json(const nlohmann::json& json);

/// An OCI image layout directory.
class Layout {
 public:
  /// Makes `dir` (and parents) a layout: writes `oci-layout`; keeps the blobs already there.
  static Result<Layout> create(std::filesystem::path dir);
  /// Opens an existing layout; fails naming `dir` when it has no readable `oci-layout` of 1.0.0.
  static Result<Layout> open(std::filesystem::path dir);

  const std::filesystem::path& dir() const { return dir_; }
  /// dir/blobs/sha256/<hex> (no check that it exists; a bad digest gives an empty path).
  std::filesystem::path blob_path(std::string_view digest) const;
  bool has_blob(std::string_view digest) const;
  /// A blob's bytes, verified against its digest (a mismatch is an error naming the blob).
  Result<std::string> read_blob(std::string_view digest) const;
  /// Checks a blob file's size and sha256 against `descriptor`; the error names both digests.
  Result<void> verify_blob(const Descriptor& descriptor) const;
  /// Stores `bytes` as a blob (atomically) and returns its descriptor.
  Result<Descriptor> write_blob(std::string_view media_type, std::string_view bytes);
  /// Moves (or, across filesystems, copies) `file`, whose digest is `digest`, into the blobs.
  Result<void> adopt_blob(const std::filesystem::path& file, std::string_view digest);
  /// Hard-links (or copies) a blob of another layout (or any file) into this one.
  Result<void> link_blob(const std::filesystem::path& file, std::string_view digest);
  /// The manifests index.json lists (an absent index.json is an empty list).
  Result<std::vector<Descriptor>> index() const;
  /// Writes index.json (schemaVersion 2, OCI index media type) atomically.
  Result<void> write_index(const std::vector<Descriptor>& manifests);

 private:
  explicit Layout(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
};

}  // namespace strata::oci
