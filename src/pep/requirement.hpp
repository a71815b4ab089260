#pragma once
// PEP 508 dependency specifications.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pep/marker.hpp"
#include "pep/specifier.hpp"
#include "util/error.hpp"

namespace strata::pep {

/// A requirement such as `requests[socks]>=2.8; python_version < "3.10"` or `pkg @ https://...`.
struct Requirement {
  std::string name;                 ///< as written
  std::vector<std::string> extras;  ///< as written, sorted as packaging does
  SpecifierSet specifier;
  std::string url;  ///< empty unless `name @ url`
  std::optional<Marker> marker;

  /// Parses a PEP 508 string; the error (kind usage) quotes it with the column.
  static Result<Requirement> parse(std::string_view text);
  /// Normalized text, as str(packaging.requirements.Requirement(...)).
  std::string str() const;
};

}  // namespace strata::pep
