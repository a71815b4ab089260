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
};

/// Which archive formats a reader accepts.
enum class ArchiveFormat {
  zip,     ///< wheels
  source,  ///< sdists and source archives: tar (uncompressed, gzip, bzip2, xz) or zip
};

/// One entry of a wheel, after validation.
struct ArchiveEntry {
  std::string path;  ///< relative, '/'-separated, no empty/"."/".." parts, no trailing '/'
  bool directory = false;
  bool executable = false;  ///< any x bit in the zip's external attributes
  std::int64_t mtime = 0;   ///< modification time (seconds since the epoch), 0 when unset
};

/// A streaming reader over a wheel's entries that refuses, with an error naming the wheel and the
/// entry: paths escaping the target (absolute, "..", backslashes, NUL), links, device files,
/// duplicate entries, and entries or totals beyond the limits.
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
  explicit ArchiveReader(std::unique_ptr<State> state, std::filesystem::path wheel, ArchiveLimits limits);
  std::unique_ptr<State> state_;
  std::filesystem::path wheel_;
  ArchiveLimits limits_;
  std::string current_;
  std::uint64_t total_ = 0;
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
