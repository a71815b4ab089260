#pragma once
// Package sizes from the index for `strata plan` when the lock has none (Poetry): the PEP 700
// `size` of each file on the PEP 691 JSON project page, one request per page, in parallel,
// cached under the cache dir (`index-sizes/`) so a re-plan asks nothing. Offline: cache only.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fetch/fetch.hpp"

namespace strata::plan {

/// One package whose size is wanted: its page request and the file names it may install.
struct SizeQuery {
  fetch::ArtifactRequest request;      ///< project, index, source name (filename unused)
  std::vector<std::string> filenames;  ///< the size is the largest known among these
};

/// What the lookup did, for the report and the tests.
struct SizeLookupStats {
  std::size_t from_cache = 0;         ///< packages whose size came from the cache
  std::size_t requested = 0;          ///< project pages requested from the index
  std::vector<std::string> warnings;  ///< pages that could not be read (sizes stay unknown)
};

/// The size of every query (nullopt: unknown). `options` carries the index overrides, the cache
/// root and `offline`; failures to read a page are warnings, never errors.
std::vector<std::optional<std::uint64_t>> index_sizes(const std::vector<SizeQuery>& queries,
                                                      const fetch::FetchOptions& options,
                                                      SizeLookupStats& stats);

}  // namespace strata::plan
