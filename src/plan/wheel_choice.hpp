#pragma once
// Choosing the wheel to install for a target among a package's locked files (SPEC "Selection":
// the best-ranked compatible wheel, PEP 425 order as in packaging.tags). Used by fetch and
// install alike. Pure: no I/O.

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "lock/model.hpp"
#include "pep/tags.hpp"
#include "util/error.hpp"

namespace strata::plan {

/// A target's supported tags with their rank (0 = most preferred), built once per target.
class TagRanking {
 public:
  /// `tags` most preferred first, as pep::supported_tags returns them.
  explicit TagRanking(std::vector<pep::Tag> tags);
  /// The rank of a tag, or -1 when the target does not support it.
  long rank(const pep::Tag& tag) const;
  const std::vector<pep::Tag>& tags() const { return tags_; }

 private:
  std::vector<pep::Tag> tags_;
  std::unordered_map<std::string, long> ranks_;
};

/// The wheel chosen for a package.
struct WheelChoice {
  std::size_t artifact = 0;  ///< index into package.artifacts
  long rank = 0;             ///< rank of its best tag
};

/// What a package's locked files are for, in a few words, not a list of names:
/// "40 wheels for cp38–cp311, pp38, pp39 on manylinux (aarch64, x86_64), macOS, Windows; an sdist".
/// Interpreters as ranges per implementation (cp, pp, then py and others), abi3 wheels as "cp39+
/// abi3", platforms by family with Linux architectures, then sdists and other files counted.
std::string summarise_files(const std::vector<std::string>& filenames);

/// Picks the compatible wheel whose best tag ranks highest; ties go to the higher build tag,
/// then to lock order. No compatible wheel is a check error naming the package, what the locked
/// files are for (summarise_files) and the target's most preferred tag; callers add what to do.
Result<WheelChoice> choose_wheel(const lock::Package& package, const TagRanking& ranking);

}  // namespace strata::plan
