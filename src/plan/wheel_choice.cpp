#include "plan/wheel_choice.hpp"

#include <optional>

#include <fmt/format.h>

#include "pep/name.hpp"
#include "util/strings.hpp"

namespace strata::plan {
namespace {

constexpr std::size_t kTagsInMessage = 3;

}  // namespace

TagRanking::TagRanking(std::vector<pep::Tag> tags) : tags_(std::move(tags)) {
  ranks_.reserve(tags_.size());
  for (std::size_t i = 0; i < tags_.size(); ++i) ranks_.emplace(tags_[i].str(), static_cast<long>(i));
}

long TagRanking::rank(const pep::Tag& tag) const {
  auto it = ranks_.find(tag.str());
  return it == ranks_.end() ? -1 : it->second;
}

Result<WheelChoice> choose_wheel(const lock::Package& package, const TagRanking& ranking) {
  std::optional<WheelChoice> best;
  std::optional<std::pair<std::uint64_t, std::string>> best_build;
  std::vector<std::string> files;
  for (std::size_t i = 0; i < package.artifacts.size(); ++i) {
    const lock::Artifact& artifact = package.artifacts[i];
    files.push_back(artifact.filename.empty() ? std::string("(unnamed file)") : artifact.filename);
    if (artifact.kind != lock::Artifact::Kind::wheel) continue;
    auto wheel = pep::WheelFilename::parse(artifact.filename);
    if (!wheel) continue;
    long rank = -1;
    for (const auto& tag : wheel->tags) {
      long r = ranking.rank(tag);
      if (r >= 0 && (rank < 0 || r < rank)) rank = r;
    }
    if (rank < 0) continue;
    auto build = wheel->build;
    bool better =
        !best || rank < best->rank ||
        (rank == best->rank && build.value_or(std::pair<std::uint64_t, std::string>{0, ""}) >
                                   best_build.value_or(std::pair<std::uint64_t, std::string>{0, ""}));
    if (better) {
      best = WheelChoice{i, rank};
      best_build = build;
    }
  }
  if (best) return *best;

  std::vector<std::string> top;
  for (std::size_t i = 0; i < ranking.tags().size() && i < kTagsInMessage; ++i)
    top.push_back(ranking.tags()[i].str());
  std::string target = top.empty() ? std::string("(no supported tags)") : util::join(top, ", ");
  if (ranking.tags().size() > kTagsInMessage)
    target += fmt::format(" (and {} more)", ranking.tags().size() - kTagsInMessage);
  std::string name = package.display_name.empty() ? package.name : package.display_name;
  if (files.empty())
    return fail(ErrorKind::check,
                fmt::format("{} {}: the lock lists no files for it, so there is no wheel for {}", name,
                            package.version_text, target));
  bool any_wheel = false;
  for (const auto& a : package.artifacts) any_wheel = any_wheel || a.kind == lock::Artifact::Kind::wheel;
  return fail(ErrorKind::check,
              fmt::format("{} {}: no wheel in the lock matches {}; the lock has only {}{}", name,
                          package.version_text, target, util::join(files, ", "),
                          any_wheel ? "" : " (strata does not build source distributions)"));
}

}  // namespace strata::plan
