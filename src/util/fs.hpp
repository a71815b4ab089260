#pragma once
// File helpers with no strata knowledge.

#include <filesystem>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace strata::util {

/// Reads a whole file; the error names the path.
Result<std::string> read_file(const std::filesystem::path& path);

/// Writes a file atomically: a temporary file beside it, fsync, then rename over the target.
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content);

}  // namespace strata::util
