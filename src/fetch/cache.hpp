#pragma once
// The artifact cache: files stored under their sha256, written through a temporary file and a
// rename so that readers only ever see complete, verified files — also with several strata
// processes (or Docker builds sharing a cache mount) at once.
//
// Layout: <root>/artifacts/sha256/<hex[0:2]>/<hex>/<filename>, temporaries in <root>/tmp.
// An entry was hashed before it was renamed into place, but the directory is writable by anyone who
// can write the cache: fetch_all hashes an entry again before every use and discards it when it
// no longer matches its address.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "fetch/hash.hpp"
#include "util/error.hpp"

namespace strata::fetch {

/// A file being written in a staging directory: removed on destruction unless committed.
class StagingFile {
 public:
  /// Creates a uniquely named empty file in `dir` (created if missing).
  static Result<StagingFile> create(const std::filesystem::path& dir);
  StagingFile(StagingFile&& other) noexcept;
  StagingFile& operator=(StagingFile&&) = delete;
  StagingFile(const StagingFile&) = delete;
  ~StagingFile();

  /// Appends bytes and feeds them to the running sha256; false on a write error (see error()).
  bool write(std::string_view data);
  /// Empties the file and the hash for a new attempt.
  Result<void> reset();
  std::uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }
  const std::string& error() const { return error_; }
  /// Closes the file and returns its sha256; call once, after the last write.
  Result<std::string> finish();
  /// Renames the finished file to `target` (its directory is created); the staging file is gone.
  Result<void> commit(const std::filesystem::path& target);

 private:
  StagingFile(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  Sha256 hasher_;
  std::string error_;
  bool committed_ = false;
};

/// A content-addressed artifact cache rooted at a directory. Does no I/O until asked.
class ArtifactCache {
 public:
  explicit ArtifactCache(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  /// Where a file with this hash and name lives (whether or not it is there).
  std::filesystem::path entry_path(std::string_view sha256, std::string_view filename) const;
  /// The entry if it is present (and of the expected size, when given).
  std::optional<std::filesystem::path> lookup(std::string_view sha256, std::string_view filename,
                                              std::optional<std::uint64_t> size) const;
  /// Removes an entry found corrupt (another size or hash than its address says), so that it is
  /// fetched again; a missing entry is no error.
  Result<void> discard(std::string_view sha256, std::string_view filename) const;
  /// The staging directory (same file system as the entries, so rename is atomic).
  std::filesystem::path staging_dir() const { return root_ / "tmp"; }
  /// Moves a verified staging file into place; an entry another process put there first is
  /// equally good, so a concurrent writer is never an error.
  Result<std::filesystem::path> insert(StagingFile& file, std::string_view sha256,
                                       std::string_view filename) const;
  /// Removes staging files older than a day: leftovers of killed processes (a live writer's
  /// file is younger). Best effort, never fails.
  void sweep_stale_staging() const;
  /// Marks the root as a cache (CACHEDIR.TAG) so backup tools skip it; idempotent.
  Result<void> ensure_root() const;

  /// What `clean` removed.
  struct CleanStats {
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
  };
  /// Removes everything strata keeps under the root (the root itself stays: it may be a mount).
  /// Without strata's CACHEDIR.TAG only the directories strata creates are removed.
  Result<CleanStats> clean() const;

 private:
  std::filesystem::path root_;
};

/// Places `source` at `target`: a hard link when possible, else a copy through a staging file
/// and a rename. An existing `target` is replaced.
Result<void> link_or_copy(const std::filesystem::path& source, const std::filesystem::path& target);

}  // namespace strata::fetch
