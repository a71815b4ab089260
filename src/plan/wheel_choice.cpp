#include "plan/wheel_choice.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "pep/name.hpp"
#include "util/strings.hpp"

namespace strata::plan {
namespace {

constexpr std::size_t kTagsInMessage = 1;

/// "cp310" -> ("cp", 310): the implementation's letters and the version digits (-1 when none).
std::pair<std::string, int> split_interpreter(std::string_view tag) {
  std::size_t digits = tag.find_first_of("0123456789");
  if (digits == std::string_view::npos) return {std::string(tag), -1};
  auto number = util::parse_uint(tag.substr(digits));
  return {std::string(tag.substr(0, digits)), number ? static_cast<int>(*number) : -1};
}

/// 310 -> "3.10"-ordered key: major first, then the minor (cp38 < cp310).
int version_key(int digits) {
  if (digits < 10) return digits * 1000;
  std::string text = std::to_string(digits);
  return (text[0] - '0') * 1000 + std::stoi(text.substr(1));
}

/// The platform's family, as a user says it, and its architecture ("" when it has none here).
std::pair<std::string, std::string> platform_family(std::string_view platform) {
  auto arch_after = [&](std::size_t prefix) {
    // manylinux_2_17_x86_64, manylinux2014_aarch64, linux_armv7l, musllinux_1_1_x86_64: the
    // architecture follows the version digits.
    std::size_t i = prefix;
    while (i < platform.size() &&
           (std::isdigit(static_cast<unsigned char>(platform[i])) || platform[i] == '_'))
      ++i;
    return std::string(platform.substr(i));
  };
  if (platform == "any") return {"any platform", ""};
  if (platform.starts_with("manylinux")) return {"manylinux", arch_after(9)};
  if (platform.starts_with("musllinux")) return {"musllinux", arch_after(9)};
  if (platform.starts_with("linux")) return {"linux", arch_after(5)};
  if (platform.starts_with("macosx")) return {"macOS", ""};
  if (platform.starts_with("win")) return {"Windows", ""};
  if (platform.starts_with("android")) return {"Android", ""};
  if (platform.starts_with("ios")) return {"iOS", ""};
  return {std::string(platform), ""};
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return n == 1 ? std::string(one) : fmt::format("{} {}", n, many);
}

}  // namespace

std::string summarise_files(const std::vector<std::string>& filenames) {
  std::size_t wheels = 0, sdists = 0, other = 0;
  // implementation letters -> version keys (with the digits as written), abi3 apart.
  std::map<std::string, std::map<int, int>> versions, abi3;
  std::vector<std::string> families;  // first-seen order, sorted below
  std::map<std::string, std::set<std::string>> arches;
  for (const auto& filename : filenames) {
    auto wheel = pep::WheelFilename::parse(filename);
    if (!wheel) {
      if (pep::SdistFilename::parse(filename))
        ++sdists;
      else
        ++other;
      continue;
    }
    ++wheels;
    for (const auto& tag : wheel->tags) {
      auto [implementation, digits] = split_interpreter(tag.interpreter);
      if (digits >= 0) (tag.abi == "abi3" ? abi3 : versions)[implementation][version_key(digits)] = digits;
      // Compressed platform sets (manylinux_2_17_x86_64.manylinux2014_x86_64) name one family.
      auto [family, arch] = platform_family(tag.platform);
      if (std::ranges::find(families, family) == families.end()) families.push_back(family);
      if (!arch.empty()) arches[family].insert(arch);
    }
  }
  // The usual implementations first, in this order; the rest after, by name.
  auto order = [](const std::string& implementation) {
    static constexpr std::array<std::string_view, 3> known = {"cp", "pp", "py"};
    auto it = std::ranges::find(known, implementation);
    return std::pair{static_cast<int>(it - known.begin()), implementation};
  };
  std::vector<std::string> implementations;
  for (const auto* table : {&versions, &abi3})
    for (const auto& [implementation, _] : *table)
      if (std::ranges::find(implementations, implementation) == implementations.end())
        implementations.push_back(implementation);
  std::ranges::sort(implementations, {}, order);
  std::vector<std::string> pythons;
  for (const auto& implementation : implementations) {
    if (auto it = versions.find(implementation); it != versions.end()) {
      const auto& seen = it->second;
      std::string low = implementation + std::to_string(seen.begin()->second);
      std::string high = implementation + std::to_string(seen.rbegin()->second);
      if (implementation == "py" || seen.size() <= 2) {
        for (const auto& [_, digits] : seen) pythons.push_back(implementation + std::to_string(digits));
      } else {
        pythons.push_back(low + "\u2013" + high);
      }
    }
    if (auto it = abi3.find(implementation); it != abi3.end())
      pythons.push_back(fmt::format("{}{}+ abi3", implementation, it->second.begin()->second));
  }
  static constexpr std::array<std::string_view, 5> kFamilyOrder = {"manylinux", "musllinux", "linux", "macOS",
                                                                   "Windows"};
  std::ranges::stable_sort(families, {}, [](const std::string& family) {
    if (family == "any platform") return static_cast<int>(kFamilyOrder.size()) + 1;
    auto it = std::ranges::find(kFamilyOrder, family);
    return static_cast<int>(it - kFamilyOrder.begin());
  });
  std::vector<std::string> platforms;
  for (const auto& family : families) {
    auto it = arches.find(family);
    if (it == arches.end()) {
      platforms.push_back(family);
      continue;
    }
    const std::vector<std::string> names(it->second.begin(), it->second.end());
    platforms.push_back(fmt::format("{} ({})", family, util::join(names, ", ")));
  }

  std::vector<std::string> parts;
  if (wheels > 0) {
    std::string part = wheels == 1 ? std::string("one wheel") : fmt::format("{} wheels", wheels);
    if (!pythons.empty()) part += " for " + util::join(pythons, ", ");
    if (!platforms.empty()) part += " on " + util::join(platforms, ", ");
    parts.push_back(std::move(part));
  }
  if (sdists > 0) parts.push_back(plural(sdists, "an sdist", "sdists"));
  if (other > 0) parts.push_back(plural(other, "one other file", "other files"));
  return util::join(parts, "; ");
}

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
    target += fmt::format(" and {} more tags", ranking.tags().size() - kTagsInMessage);
  std::string name = package.display_name.empty() ? package.name : package.display_name;
  if (files.empty())
    return fail(ErrorKind::check,
                fmt::format("{} {}: the lock lists no files for it, so there is no wheel for {}", name,
                            package.version_text, target));
  return fail(ErrorKind::check,
              fmt::format("{} {}: no wheel in the lock matches the target ({}); the lock has {}", name,
                          package.version_text, target, summarise_files(files)));
}

}  // namespace strata::plan
