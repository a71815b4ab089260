#pragma once
// The OCI distribution client: pull an image (index → platform → manifest → blobs, every blob's
// sha256 verified as it streams) into an OCI image layout, and push a layout's image (HEAD each
// blob, mount from a repository where it was seen, upload the rest, the manifest last). Runs on
// fetch/'s HTTP seam (exchange.hpp: any method, bodies, headers), one transport per worker thread;
// authenticates anonymously, with Basic, or with the Bearer token flow. Plain http only for loopback
// registries and --insecure-registry hosts.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fetch/auth.hpp"
#include "fetch/exchange.hpp"
#include "oci/layout.hpp"
#include "oci/reference.hpp"
#include "util/error.hpp"

namespace strata::oci {

/// How the client talks to registries.
struct RegistryOptions {
  /// Hosts ("host" or "host:port") reached without TLS verification, or over plain http when
  /// https cannot be connected (--insecure-registry). Loopback hosts may use plain http too.
  std::vector<std::string> insecure_registries;
  std::optional<std::filesystem::path> creds_file;  ///< --creds-file
  std::size_t parallelism = 4;                      ///< blobs moved at once
  fetch::RetryPolicy retry;                         ///< for 5xx, 408, 429 and transport errors
  std::uint64_t monolithic_max = 16ULL << 20;       ///< larger blobs go up in PATCH chunks
  std::uint64_t chunk_size = 16ULL << 20;
  /// JSON file remembering which repositories hold which blobs (digest → ["registry/repo"]),
  /// read and updated by pull and push: cross-repository mounts across runs. None: memory only.
  std::optional<std::filesystem::path> blob_sources_file;
};

/// What happened to one blob.
enum class BlobAction { uploaded, skipped, mounted, downloaded, cached };
std::string_view to_string(BlobAction action);

/// One blob's outcome.
struct BlobReport {
  Descriptor blob;
  BlobAction action = BlobAction::skipped;
  std::string mounted_from;  ///< the source repository of a mount
  std::uint64_t bytes = 0;   ///< bytes sent or received for it
};

/// The outcome of a push or a pull.
struct TransferReport {
  std::string reference;  ///< printable (holds no secret)
  Descriptor manifest;    ///< the image manifest pushed, or picked (an index resolved)
  BlobAction manifest_action = BlobAction::uploaded;  ///< uploaded, or skipped when the tag had it
  std::vector<BlobReport> blobs;                      ///< config first, then the layers in manifest order
  std::uint64_t bytes_uploaded = 0;
  std::uint64_t bytes_downloaded = 0;
  std::size_t requests = 0;  ///< HTTP requests made, token requests included
};

/// Progress of blob transfers; calls are serialised by the client.
class RegistryObserver {
 public:
  virtual ~RegistryObserver() = default;
  virtual void blob_started(const Descriptor& /*blob*/) {}
  virtual void blob_done(const BlobReport& /*report*/) {}
};

/// Makes one transport per worker thread.
using TransportFactory = std::function<std::unique_ptr<fetch::ExchangeTransport>()>;
/// CurlTransports with `options`.
TransportFactory curl_transport_factory(const fetch::CurlGlobal& global, const fetch::CurlOptions& options);

/// A client for the registries one command talks to: remembers each registry's scheme and
/// authentication, tokens per scope, and where blobs were seen.
class RegistryClient {
 public:
  RegistryClient(TransportFactory transports, RegistryOptions options, fetch::EnvLookup env,
                 RegistryObserver* observer = nullptr);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  /// Pulls `ref` into the OCI image layout `layout` (created when missing; blobs already there
  /// are kept, so it may be a shared blob store): an index is resolved to `platform`, the config
  /// and layers are downloaded with their sha256 verified (a mismatch fails naming the blob, and
  /// nothing of it is kept); index.json gets the manifest, annotated with the tag.
  Result<TransferReport> pull(const Reference& ref, const Platform& platform,
                              const std::filesystem::path& layout);

  /// Pushes the image manifest `manifest_digest` of `layout` (default: the only manifest in its
  /// index.json) to `ref`, then tags it with `extra_tags`. Blobs already in the repository are
  /// skipped, blobs seen in another repository of the registry are mounted, the others
  /// uploaded; the manifest is put only after every blob is in place.
  Result<TransferReport> push(const std::filesystem::path& layout, const Reference& ref,
                              std::optional<std::string> manifest_digest = {},
                              const std::vector<std::string>& extra_tags = {});

  /// Remembers that `repository` of `registry` holds `digest` (e.g. a base's layers).
  void note_blob_source(const std::string& digest, const std::string& registry,
                        const std::string& repository);

  struct Session;  ///< one registry's scheme, credentials and tokens (defined in the .cpp)

 private:
  Result<Session*> session(const std::string& registry, const std::string& repository);
  Result<void> load_blob_sources();
  Result<void> save_blob_sources();

  TransportFactory transports_;
  RegistryOptions options_;
  fetch::EnvLookup env_;
  RegistryObserver* observer_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
  std::map<std::string, std::set<std::string>> blob_sources_;  ///< digest → "registry/repository"
  bool sources_loaded_ = false;
};

}  // namespace strata::oci
