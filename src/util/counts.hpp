#pragma once
// Counts and sizes as people read them in output lines.

#include <string>
#include <string_view>

namespace strata::util {

/// A count with thousands separators: "6,108".
std::string thousands(unsigned long long n);
/// A count and its noun, which takes an "s" unless the count is 1: "1 package", "6,108 files",
/// "0 local builds".
std::string counted(unsigned long long n, std::string_view noun);
/// A size in bytes for people: "512 B", "15.1 KiB", "101.2 MiB", "1.4 GiB".
std::string human_size(unsigned long long bytes);

}  // namespace strata::util
