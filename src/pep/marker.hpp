#pragma once
// PEP 508 environment markers, evaluated as current `packaging` does (including PEP 751's
// `extras` / `dependency_groups` set variables).

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace strata::pep {

/// Marker variable values of a target: os_name, sys_platform, platform_machine,
/// platform_python_implementation, platform_release, platform_system, platform_version,
/// python_version, python_full_version, implementation_name, implementation_version.
using MarkerEnvironment = std::map<std::string, std::string, std::less<>>;

/// What a marker is evaluated against. Equivalent to packaging's Marker.evaluate(environment |
/// {"extra": extra, "extras": extras, "dependency_groups": dependency_groups}).
struct MarkerContext {
  const MarkerEnvironment* environment = nullptr;
  /// Value of the `extra` variable ("" when evaluating outside any extra, as packaging does).
  std::string extra;
  /// PEP 751 lock-file context: the `extras` and `dependency_groups` sets (names normalized).
  std::set<std::string> extras;
  std::set<std::string> dependency_groups;
  /// uv.lock conflict markers: when set, `extra == "X"` holds when X is in this set and
  /// `extra != "X"` when it is not (uv evaluates `extra` against every activated item at once).
  const std::set<std::string>* extra_set = nullptr;
};

struct MarkerNode;  // defined in pep/pep508_parser.hpp

/// A parsed marker expression.
class Marker {
 public:
  /// Parses a marker expression; the error (kind usage) quotes the text and the column.
  static Result<Marker> parse(std::string_view text);

  /// True when the marker holds in `context` (packaging's Marker.evaluate). Where packaging
  /// raises (see try_evaluate) the marker counts as not holding.
  bool evaluate(const MarkerContext& context) const;
  /// packaging's Marker.evaluate with its failures (kind usage): a variable the environment
  /// lacks (UndefinedEnvironmentName) or a comparison it cannot decide, e.g.
  /// `os_name ~= "x"` (UndefinedComparison). Test the value (`*result`), not the Result.
  Result<bool> try_evaluate(const MarkerContext& context) const;
  /// Normalized text, as str(packaging.markers.Marker(...)).
  std::string str() const;

  Marker();
  /// Wraps an already parsed tree (used by Requirement::parse).
  explicit Marker(std::shared_ptr<const MarkerNode> root);
  ~Marker();
  Marker(const Marker&);
  Marker& operator=(const Marker&);
  Marker(Marker&&) noexcept;
  Marker& operator=(Marker&&) noexcept;

 private:
  std::shared_ptr<const MarkerNode> root_;
};

}  // namespace strata::pep
