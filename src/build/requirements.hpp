#pragma once
// Choosing build requirements (they are not locked) by the rule stated in build.hpp, behind a
// small index seam so the rule is unit-tested without a network.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "build/build.hpp"
#include "env/probe.hpp"
#include "fetch/simple_api.hpp"
#include "pep/version.hpp"
#include "util/error.hpp"

namespace strata::build::detail {

/// Where candidate wheels and their metadata come from.
class PackageIndex {
 public:
  virtual ~PackageIndex() = default;
  /// Every file listed for a project (normalized name); an empty list when the index has none.
  virtual Result<std::vector<fetch::IndexFile>> files(std::string_view project) = 0;
  /// The METADATA text of a listed wheel (PEP 658 file when offered, else from the wheel).
  virtual Result<std::string> metadata(const fetch::IndexFile& file, const std::string& sha256) = 0;
};

/// A requirement with where it came from, for conflict messages.
struct Wanted {
  std::string text;    ///< PEP 508
  std::string origin;  ///< e.g. "pyproject.toml [build-system]", "setuptools 75.1.0"
};

/// One chosen wheel.
struct Pin {
  std::string name;  ///< normalized
  pep::Version version;
  fetch::IndexFile file;
  std::string sha256;  ///< lower-case hex
  std::string str() const { return name + "==" + version.str(); }
};

/// Chooses wheels for `wanted` and their dependencies for `interpreter`: the newest
/// non-yanked, tag- and requires-python-compatible version satisfying every specifier seen for
/// the project (pre-releases only when a specifier names one or nothing else fits), the best
/// tag among that version's wheels. With `constraints` each project must be pinned there and
/// the pin's file must carry one of its hashes. `specifier_constraints` whose marker holds join
/// the specifiers of their project when (and only when) that project is required. Pins come back
/// sorted by name. Errors name the requirement, and both sides of a conflict.
Result<std::vector<Pin>> choose_requirements(
    const std::vector<Wanted>& wanted, const env::Interpreter& interpreter,
    const std::vector<BuildConstraint>* constraints, PackageIndex& index,
    const std::vector<SpecifierConstraint>& specifier_constraints = {});

}  // namespace strata::build::detail
