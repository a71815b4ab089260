#pragma once
// Turning locked artifacts into verified files on local disk: find-links, the cache, then the
// network (project pages looked up once per project, files downloaded in parallel, every byte
// hashed on the way in).

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fetch/auth.hpp"
#include "fetch/progress.hpp"
#include "fetch/simple_api.hpp"
#include "fetch/transfer.hpp"
#include "fetch/transport.hpp"
#include "util/error.hpp"

namespace strata::fetch {

/// The default index when neither the lock nor the user names one.
inline constexpr std::string_view kPypiSimple = "https://pypi.org/simple/";

/// One file to fetch, as the lock describes it.
struct ArtifactRequest {
  std::string package;  ///< for messages, e.g. "numpy 2.1.0"
  std::string project;  ///< normalized project name (the page to look the file up on)
  std::string filename;
  std::string url;          ///< direct URL when the lock has one ("file://" and paths allowed)
  std::string index_url;    ///< the package's index when `url` is empty; "" = the default index
  std::string source_name;  ///< the index's name in the lock ("" for the default index)
  std::string sha256;       ///< required: lower-case hex
  std::optional<std::uint64_t> size;
  /// fetch_project_pages only: this exact page (a requirements.txt `--find-links` URL) instead
  /// of the index's project page.
  std::string page_url;
};

/// Where a fetched file came from.
enum class ArtifactOrigin { cache, download, find_links, dest };

/// A verified file on disk.
struct FetchedArtifact {
  std::string package;
  std::string filename;
  std::string sha256;
  std::filesystem::path path;  ///< in the cache, in --dest, or in a find-links directory
  std::uint64_t size = 0;
  ArtifactOrigin origin = ArtifactOrigin::download;
};

/// How to fetch.
struct FetchOptions {
  std::string index_url;  ///< replaces the default index (PyPI) when set (--index-url)
  std::map<std::string, std::string> source_urls;  ///< --source NAME=URL overrides
  std::vector<std::filesystem::path> find_links;
  bool offline = false;                           ///< cache and find-links only
  std::filesystem::path cache_dir;                ///< the cache root
  std::optional<std::filesystem::path> dest_dir;  ///< place files here instead of the cache
  TransferLimits limits;
};

/// "cache", "download", "find-links" or "dest".
const char* to_string(ArtifactOrigin origin);

/// Fetches every request (results in request order). All failures are reported together, each
/// naming its file and URL (credentials redacted); a hash mismatch names the expected and actual
/// sha256 and leaves nothing behind.
Result<std::vector<FetchedArtifact>> fetch_all(const std::vector<ArtifactRequest>& requests,
                                               const FetchOptions& options, HttpTransport& transport,
                                               CredentialResolver& credentials, ProgressObserver& observer);

/// Downloads files whose hash is not known beforehand (a `--find-links` page's link without a
/// hash fragment; request `url`, `filename` and `package`, no `sha256`) into the cache, hashing
/// them on the way in; result i is request i's file with its sha256 and cache path, or why not.
std::vector<Result<FetchedArtifact>> fetch_unhashed(const std::vector<ArtifactRequest>& requests,
                                                    const FetchOptions& options, HttpTransport& transport,
                                                    CredentialResolver& credentials,
                                                    ProgressObserver& observer);

/// The project page a request's file is looked up on, after --index-url / --source overrides
/// (`page_url` when the request names one).
std::string project_page_for(const ArtifactRequest& request, const FetchOptions& options);

/// Looks up the project page of every request (one transfer per distinct page, in parallel,
/// retried as downloads are); result i is request i's parsed page or why it is missing.
std::vector<Result<ProjectPage>> fetch_project_pages(const std::vector<ArtifactRequest>& requests,
                                                     const FetchOptions& options, HttpTransport& transport,
                                                     CredentialResolver& credentials,
                                                     ProgressObserver& observer);

}  // namespace strata::fetch
