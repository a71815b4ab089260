#pragma once
// Progress reporting from the fetch layer: an observer the caller implements (a terminal bar, a
// JSON log, nothing). The fetch layer never draws anything itself.

#include <chrono>
#include <cstdint>
#include <string_view>

namespace strata::fetch {

struct FetchedArtifact;

/// Receives fetch events; every method has a no-op default. Called from the fetching thread.
class ProgressObserver {
 public:
  virtual ~ProgressObserver() = default;
  /// Downloads are about to start: how many files, and their total size where known.
  virtual void on_start(std::size_t /*files*/, std::uint64_t /*known_bytes*/) {}
  /// Body bytes arrived (negative when a failed attempt's bytes are discarded before a retry).
  virtual void on_bytes(std::int64_t /*delta*/) {}
  /// One artifact is verified and in place (downloaded, or found in the cache or find-links).
  virtual void on_done(const FetchedArtifact& /*artifact*/) {}
  /// A transfer failed transiently and will be tried again after `delay`.
  virtual void on_retry(std::string_view /*redacted_url*/, int /*attempt*/,
                        std::chrono::milliseconds /*delay*/, std::string_view /*reason*/) {}
  /// A detail for verbose output (which credentials an index uses, cache hits); holds no secret.
  virtual void on_detail(std::string_view /*message*/) {}
};

}  // namespace strata::fetch
