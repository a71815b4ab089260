#pragma once
// Project names (PEP 503 normalization) and distribution file names (wheel, sdist).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pep/tags.hpp"
#include "pep/version.hpp"
#include "util/error.hpp"

namespace strata::pep {

/// PEP 503: lowercase, runs of "-", "_", "." become one "-".
std::string normalize_name(std::string_view name);
/// True when `name` is a valid project name (PEP 508 identifier rules).
bool is_valid_name(std::string_view name);

/// A parsed wheel file name: {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl
struct WheelFilename {
  std::string name;  ///< normalized
  Version version;
  std::optional<std::pair<std::uint64_t, std::string>> build;  ///< build tag (number, rest)
  std::vector<Tag> tags;  ///< compressed tag sets expanded, in file-name order

  /// Parses a wheel file name (not a path); error kind usage quotes it.
  static Result<WheelFilename> parse(std::string_view filename);
};

/// A parsed source distribution file name: {name}-{version}.tar.gz or .zip.
struct SdistFilename {
  std::string name;  ///< normalized
  Version version;
  static Result<SdistFilename> parse(std::string_view filename);
};

}  // namespace strata::pep
