#pragma once
// Reading wheel archives (zip) and source archives (sdists: tar.gz and other tars, zip) as
// untrusted input, one entry at a time. The only code that includes libarchive.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::wheel {

/// Bounds on what an archive may expand to (zip bombs, absurd entries).
struct ArchiveLimits {
  std::uint64_t max_entry_size = 8ULL << 30;   ///< uncompressed bytes of one entry
  std::uint64_t max_total_size = 32ULL << 30;  ///< uncompressed bytes of the whole archive
  std::uint64_t max_entries = 1'000'000;
  /// Uncompressed bytes of the whole archive per byte of the archive file (0: no bound). Real
  /// wheels stay below 4 (torch 2.5.1: 1.9, tensorflow 2.18: 2.7, numpy 2.1: 3.4, jaxlib: 3.7);
  /// deflate reaches about 1000 on zeros.
  std::uint64_t max_ratio = 50;
  /// Archives expanding to at most this many bytes are not held to max_ratio (a small wheel of
  /// repetitive text compresses well and cannot do harm).
  std::uint64_t ratio_floor = 64ULL << 20;
};

/// Which archive formats a reader accepts.
enum class ArchiveFormat {
  zip,     ///< wheels
  source,  ///< sdists and source archives: tar (uncompressed, gzip, bzip2, xz) or zip
};

/// The default limits with STRATA_MAX_UNPACK_RATIO applied (a whole number; 0 lifts the ratio
/// bound). An invalid value is a usage error naming the variable.
Result<ArchiveLimits> archive_limits_from_env();

/// One entry of a wheel, after validation.
struct ArchiveEntry {
  std::string path;  ///< relative, '/'-separated, no empty/"."/".." parts, no trailing '/'
  bool directory = false;
  bool executable = false;  ///< any x bit in the zip's external attributes
  std::int64_t mtime = 0;   ///< modification time (seconds since the epoch), 0 when unset
};

/// A reader over a wheel's entries, listed by its central directory (a zip without one, e.g. cut
/// off, is refused rather than streamed), that refuses, with an error naming the wheel and the
/// entry: paths escaping the target (absolute, "..", backslashes, NUL), links, device files,
/// duplicate entries, entries inflating beyond the size the central directory declares (stopped at
/// the first byte too many), and entries or totals beyond the limits (checked on the declared
/// sizes before inflating, and again while inflating).
class ArchiveReader {
 public:
  /// Opens `wheel` for reading. A source archive's "." entry (tar's `./`) is skipped, not refused.
  static Result<ArchiveReader> open(const std::filesystem::path& wheel, const ArchiveLimits& limits,
                                    ArchiveFormat format = ArchiveFormat::zip);
  ~ArchiveReader();
  ArchiveReader(ArchiveReader&&) noexcept;
  ArchiveReader& operator=(ArchiveReader&&) noexcept;

  /// The next entry, or nullopt at the end of the archive.
  Result<std::optional<ArchiveEntry>> next();
  /// Streams the current entry's bytes to `sink` in chunks; enforces the size limits.
  Result<void> read(const std::function<Result<void>(std::string_view)>& sink);
  /// The wheel's file name, for messages.
  std::string name() const { return wheel_.filename().string(); }

 private:
  struct State;
  explicit ArchiveReader(std::unique_ptr<State> state, std::filesystem::path wheel, ArchiveLimits limits,
                         std::uint64_t total_bound);
  std::string total_bound_reason() const;
  std::unique_ptr<State> state_;
  std::filesystem::path wheel_;
  ArchiveLimits limits_;
  std::string current_;
  std::uint64_t total_ = 0;
  std::uint64_t declared_total_ = 0;
  std::uint64_t total_bound_ = 0;               ///< max_total_size, or less by max_ratio
  std::optional<std::uint64_t> declared_size_;  ///< of the current entry
  std::uint64_t count_ = 0;
  std::set<std::string> seen_files_;
  std::set<std::string> seen_dirs_;
};

/// Checks one archive member name and returns it normalized (see ArchiveEntry::path), or an error
/// message (without the wheel name) saying why it is refused.
std::optional<std::string> check_member_path(std::string_view raw, std::string& normalized);

/// One entry to write with write_zip (tests and fixtures build wheels with it).
struct ZipMember {
  enum class Kind { file, directory, symlink, hardlink, fifo };
  std::string name;
  std::string data;  ///< file content, or the link target for links
  unsigned mode = 0644;
  Kind kind = Kind::file;
};

/// Writes a zip archive holding `members` in order (duplicates are written as given).
Result<void> write_zip(const std::filesystem::path& path, const std::vector<ZipMember>& members);
/// The same as a gzip-compressed tar (an sdist's format).
Result<void> write_tar_gz(const std::filesystem::path& path, const std::vector<ZipMember>& members);

}  // namespace strata::wheel
