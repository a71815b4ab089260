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

/// Picks the compatible wheel whose best tag ranks highest; ties go to the higher build tag,
/// then to lock order. No compatible wheel is a check error naming the package, the files in
/// the lock and the target's most preferred tags.
Result<WheelChoice> choose_wheel(const lock::Package& package, const TagRanking& ranking);

}  // namespace strata::plan
