#pragma once
// File helpers with no strata knowledge.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_set>

#include "util/error.hpp"

namespace strata::util {

/// Reads a whole file; the error names the path.
Result<std::string> read_file(const std::filesystem::path& path);

/// Whether write_file_atomic flushes the data to the disk before the rename.
enum class Durability {
  process_crash,  ///< readers never see a partial file after a kill (the page cache survives it)
  power_loss,     ///< also after a power loss or kernel crash: fsync first (costs milliseconds)
};

/// Writes a file atomically: a temporary file beside it, then rename over the target.
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                               Durability durability = Durability::power_loss);

/// Creates directories (with their parents), remembering which exist so that laying out many
/// files costs one mkdir per new directory instead of a stat per path component per file.
class DirMaker {
 public:
  /// Makes sure `dir` exists as a directory; the error names it.
  Result<void> ensure(const std::filesystem::path& dir);

 private:
  std::unordered_set<std::string> known_;
};

/// A new directory `<parent>/<prefix><pid>-<random>` on which this process holds an flock(2) until
/// the object is destroyed: remove_stale_temp_dirs never takes it while it is being filled, from
/// this process or any other sharing the directory (the kernel drops the lock of a killed one).
/// Renaming it into place is fine (the lock follows it); the destructor does not remove it.
class TempDir {
 public:
  /// Creates the directory (and `parent`) and takes its lock; the error names the path.
  static Result<TempDir> create(const std::filesystem::path& parent, std::string_view prefix = ".tmp-");
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  TempDir(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
};

/// Removes every directory `<dir>/<prefix>*` that no live process holds as a TempDir and that was
/// last modified at least `min_age` ago (a creator takes its lock right after its mkdir): what
/// killed processes left. Read-only trees inside are made writable first. Best effort (what
/// cannot be removed stays); returns how many were removed.
std::size_t remove_stale_temp_dirs(const std::filesystem::path& dir, std::string_view prefix,
                                   std::chrono::seconds min_age = std::chrono::seconds(60));

/// Whether `dir` is a TempDir that a live process holds.
bool temp_dir_in_use(const std::filesystem::path& dir);

/// Removes a tree, making its read-only directories writable first; best effort.
void remove_tree(const std::filesystem::path& path);

}  // namespace strata::util
