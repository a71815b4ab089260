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

/// Writes a file atomically: a temporary file beside it, fsync, then rename over the target.
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content);

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
