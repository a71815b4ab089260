#pragma once
// Deterministic layer tarballs (image-spec layer.md): entries sorted with parents first, uid/gid
// 0 without names, one mtime for all (SOURCE_DATE_EPOCH or 0), normalised modes, no xattrs, no
// PAX records unless a name or size needs one; compressed with gzip under a fixed header (no
// name, time 0) or zstd. The DiffID (sha256 of the tar) is computed while writing; a DiffID →
// blob map in the cache keeps a layer's blob once made, so a compressor upgrade does not change
// (or re-push) layers whose content did not change.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "oci/layout.hpp"
#include "util/error.hpp"

namespace strata::oci {

/// One member of a layer.
struct LayerEntry {
  enum class Type { directory, file, symlink };
  std::string path;  ///< relative to the image root, '/'-separated, no leading "/" or "./"
  Type type = Type::file;
  bool executable = false;       ///< files: 0755 instead of 0644 (directories are 0755, links 0777)
  bool read_only = false;        ///< files: 0444 / 0555 (strata's cached pycs are read-only)
  std::filesystem::path source;  ///< files: read the content from here…
  std::string content;           ///< …or, when source is empty, this
  std::string link;              ///< symlinks: the target
};

enum class Compression { gzip, zstd };
/// "gzip" / "zstd"; a usage error otherwise.
Result<Compression> parse_compression(std::string_view text);
std::string_view to_string(Compression compression);

struct LayerOptions {
  std::int64_t mtime = 0;  ///< every entry's mtime
  Compression compression = Compression::gzip;
  /// The DiffID → blob map's directory (empty: none): <cache>/oci/diffids/.
  std::filesystem::path diffid_dir;
};

/// A layer written into a layout.
struct WrittenLayer {
  std::string diff_id;    ///< "sha256:…" of the uncompressed tar
  Descriptor descriptor;  ///< the compressed blob
  std::size_t entries = 0;
  bool reused = false;  ///< the blob came from the DiffID → blob map
};

/// The entries in layer order: every missing parent directory added, each path once (a later
/// duplicate is an error naming it), sorted by path components so parents precede children.
Result<std::vector<LayerEntry>> normalize_entries(std::vector<LayerEntry> entries);

/// Writes `entries` (normalized first) as one layer blob into `layout`.
Result<WrittenLayer> write_layer(std::vector<LayerEntry> entries, const LayerOptions& options,
                                 Layout& layout);

/// The mtime for layer entries: SOURCE_DATE_EPOCH when set (a usage error when it is not a
/// non-negative integer), else 0.
Result<std::int64_t> source_date_epoch();

}  // namespace strata::oci
