#pragma once
// File helpers with no strata knowledge.

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

}  // namespace strata::util
