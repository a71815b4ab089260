#pragma once
// The unpack-once cache: a wheel extracted (and validated) once into a directory keyed by its
// sha256, from which installs copy, hardlink or reflink files instead of decompressing again.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "wheel/archive.hpp"

namespace strata::wheel {

/// One regular file of an unpacked wheel, with what extracting it measured.
struct UnpackedEntry {
  std::string path;  ///< archive path (validated, normalized)
  std::string hash;  ///< "sha256=<base64url>" of the bytes
  std::uint64_t size = 0;
  bool executable = false;
  std::int64_t mtime_ns = 0;  ///< the extracted file's mtime: part of the tree's seal
};

/// An unpacked wheel: its files under `tree`, listed (in archive order) in `entries`.
struct UnpackedWheel {
  std::filesystem::path dir;   ///< <cache_dir>/<sha256>
  std::filesystem::path tree;  ///< dir/tree: the archive's files
  std::vector<UnpackedEntry> entries;
};

/// Removes what killed processes left in the unpack cache `cache_dir`: `.tmp-*` trees no live
/// process holds, and `.broken-*` trees, older than a minute, beside the entries and in each
/// entry's `pyc/` (util::remove_stale_temp_dirs; safe
/// while other processes share the cache). Returns how many were removed; never fails.
std::size_t sweep_unpack_cache(const std::filesystem::path& cache_dir);

/// Returns the unpacked tree of `wheel` under `cache_dir/<sha256_hex>`, extracting it first when
/// absent or when its seal (see check_seal) is broken. Extraction goes to a temporary directory
/// beside it and is renamed into place, so concurrent processes and interrupted runs never expose
/// a partial tree. The archive is read
/// with the same refusals and limits as an install (see ArchiveReader).
Result<UnpackedWheel> unpack_to_cache(const std::filesystem::path& wheel, std::string_view sha256_hex,
                                      const std::filesystem::path& cache_dir, const ArchiveLimits& limits);

/// Checks the tree's seal: every listed file is still a read-only regular file of its size and
/// extraction-time mtime (a stat per file, no reading). Files are extracted read-only, so a change
/// takes a chmod or a write through a hard link, and either moves the mtime or the mode: what the
/// seal catches. It guards against accidents, not against someone who can also rewrite the manifest.
/// The error names the first file that differs.
Result<void> check_seal(const UnpackedWheel& unpacked);

/// Removes an unpacked directory (`UnpackedWheel::dir`) after renaming it aside; used for a tree
/// whose seal broke and for a wheel refused after unpacking. Best effort, never fails.
void discard_unpacked(const std::filesystem::path& dir);

/// Extracts a source archive (an sdist or a `url`/`file` archive: tar, tar.gz/bz2/xz or zip) into
/// `dest` (created), writable, with the same refusals and limits as a wheel (see ArchiveReader).
/// Returns the newest member's modification time (0 when none is set): the source's
/// SOURCE_DATE_EPOCH.
Result<std::int64_t> extract_source_archive(const std::filesystem::path& archive,
                                            const std::filesystem::path& dest, const ArchiveLimits& limits);

/// How files get from an unpacked tree into the environment.
enum class LinkMode {
  automatic,  ///< reflink, else hardlink, else copy (falling back on EXDEV, EPERM, unsupported)
  copy,
  hardlink,
  reflink,
};

/// Parses "auto", "copy", "hardlink" or "reflink".
Result<LinkMode> parse_link_mode(std::string_view text);
std::string_view to_string(LinkMode mode);

/// Creates `to` (which must not exist) from `from` with `mode`; `automatic` degrades through
/// reflink, hardlink and copy and returns the mode that worked, which callers pass back in for the
/// next file so failing attempts are not repeated. Explicit modes fail with the reason.
Result<LinkMode> link_file(const std::filesystem::path& from, const std::filesystem::path& to, LinkMode mode);

}  // namespace strata::wheel
