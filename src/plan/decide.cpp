#include "plan/decide.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "pep/name.hpp"
#include "pep/requirement.hpp"
#include "util/strings.hpp"

namespace strata::plan {
namespace {

// Installed versions are compared as PEP 440 versions; a version that does not parse only
// equals the same text.
bool same_version(const std::string& installed, const pep::Version& wanted) {
  auto parsed = pep::Version::parse(installed);
  if (!parsed) return util::trim(installed) == wanted.str();
  return *parsed == wanted;
}

bool same_version_text(const std::string& a, const std::string& b) {
  auto pa = pep::Version::parse(a);
  auto pb = pep::Version::parse(b);
  if (pa && pb) return *pa == *pb;
  return util::trim(a) == util::trim(b);
}

bool same_wheel(const env::LedgerEntry& entry, const SelectedPackage& package) {
  if (!entry.sha256.empty() && !package.sha256.empty()) return util::iequals(entry.sha256, package.sha256);
  return entry.wheel == package.wheel;
}

/// Whether `path` lies under one of `dirs` (lexically, after normalization).
bool under_any(const std::filesystem::path& path, const std::vector<std::filesystem::path>& dirs) {
  const std::filesystem::path p = path.lexically_normal();
  for (const auto& dir : dirs) {
    auto rel = p.lexically_relative(dir.lexically_normal());
    if (!rel.empty() && *rel.begin() != "..") return true;
  }
  return false;
}

std::string describe_holder(const env::InstalledDistribution& distribution, const std::string& owner) {
  if (!owner.empty()) return fmt::format("owned by {}", owner);
  if (distribution.read_only()) return "unmanaged legacy egg-info";
  if (distribution.installer.empty()) return "unmanaged";
  return fmt::format("unmanaged (installer {})", distribution.installer);
}

// Requires-Dist of one installed distribution, parsed once; junk becomes a warning.
struct ParsedRequires {
  std::vector<std::pair<std::string, pep::Requirement>> requirements;  // (text, parsed)
};

const ParsedRequires& parsed_requires(const env::InstalledDistribution& distribution,
                                      std::map<const env::InstalledDistribution*, ParsedRequires>& cache,
                                      std::vector<std::string>& warnings) {
  auto [it, inserted] = cache.try_emplace(&distribution);
  if (!inserted) return it->second;
  for (const std::string& text : distribution.requires_dist) {
    auto requirement = pep::Requirement::parse(text);
    if (!requirement) {
      warnings.push_back(fmt::format("{}: ignoring Requires-Dist that does not parse: {}",
                                     distribution.path.string(), requirement.error().message));
      continue;
    }
    it->second.requirements.emplace_back(text, std::move(*requirement));
  }
  return it->second;
}

}  // namespace

std::string_view to_string(Action action) {
  switch (action) {
    case Action::install:
      return "install";
    case Action::keep:
      return "keep";
    case Action::replace:
      return "replace";
    case Action::conflict:
      return "conflict";
  }
  return "install";
}

std::size_t Decisions::count(Action action) const {
  return static_cast<std::size_t>(std::count_if(decisions.begin(), decisions.end(),
                                                [action](const Decision& d) { return d.action == action; }));
}

std::string owner_of(const env::InstalledDistribution& distribution, const env::Ledger& ledger) {
  const env::LedgerEntry* entry = ledger.find(distribution.name);
  // The ledger speaks only for the version strata installed: if something else installed
  // another version over it since, that one is unmanaged.
  if (entry == nullptr || !same_version_text(entry->version, distribution.version)) return {};
  return entry->owner;
}

Decisions decide(const std::vector<SelectedPackage>& selected, const env::InstalledSet& installed,
                 const env::Ledger& ledger, const DecideOptions& options) {
  Decisions result;
  for (const SelectedPackage& package : selected) {
    Decision decision;
    decision.name = pep::normalize_name(package.name);
    decision.version = package.version;
    decision.wheel = package.wheel;
    decision.sha256 = package.sha256;
    const std::string wanted = package.version.str();

    const env::InstalledDistribution* current = installed.find(decision.name);
    if (current == nullptr) {
      decision.action = Action::install;
      decision.reason = "not installed";
      result.decisions.push_back(std::move(decision));
      continue;
    }
    decision.installed_version = current->version;
    decision.installed_owner = owner_of(*current, ledger);
    decision.installer = current->installer;
    decision.installed_path = current->path;
    const bool ours = !decision.installed_owner.empty() && decision.installed_owner == options.owner;
    const std::string holder = describe_holder(*current, decision.installed_owner);
    decision.in_base = !options.library_dirs.empty() && !under_any(current->path, options.library_dirs);
    const auto installed_version = pep::Version::parse(current->version);
    const bool local_build = !options.exact && installed_version && !installed_version->local().empty() &&
                             package.version.local().empty() &&
                             installed_version->public_version() == package.version;

    if (local_build) {
      decision.action = Action::keep;
      decision.local_build = true;
      decision.reason = fmt::format(
          "installed {} satisfies the lock's {} (a local build, {}; --exact requires the locked build)",
          current->version, wanted, holder);
    } else if (same_version(current->version, package.version)) {
      const env::LedgerEntry* entry = ledger.find(decision.name);
      if (ours && entry != nullptr && !same_wheel(*entry, package)) {
        decision.action = Action::replace;
        decision.reason = fmt::format("{} is installed from another wheel ({}), {}", current->version,
                                      entry->wheel, holder);
      } else {
        decision.action = Action::keep;
        decision.reason = fmt::format("{} is already installed, {}", current->version, holder);
      }
    } else if (ours) {
      decision.action = Action::replace;
      decision.reason = fmt::format("{} is installed, {}", current->version, holder);
    } else if (decision.in_base && options.allow_replace) {
      decision.action = Action::replace;
      decision.forced = true;
      decision.reason = fmt::format(
          "{} is installed in {}, outside the target's library directories, {}; the locked version "
          "shadows it because of --allow-replace (it is not modified)",
          current->version, current->path.parent_path().string(), holder);
    } else if (current->read_only() && !decision.in_base) {
      decision.action = Action::conflict;
      decision.reason = fmt::format(
          "{} is installed as legacy egg-info ({}), which strata does not modify; uninstall it with pip "
          "first",
          current->version, current->path.string());
    } else if (options.allow_replace) {
      decision.action = Action::replace;
      decision.forced = true;
      decision.reason =
          fmt::format("{} is installed, {}; replaced because of --allow-replace", current->version, holder);
    } else {
      decision.action = Action::conflict;
      decision.reason =
          decision.in_base
              ? fmt::format(
                    "{} is installed in {}, outside the target's library directories, {}; the lock "
                    "wants {} (use --allow-replace to shadow it with the locked version; it is not "
                    "modified)",
                    current->version, current->path.parent_path().string(), holder, wanted)
              : fmt::format("{} is installed, {}; the lock wants {} (use --allow-replace to replace it)",
                            current->version, holder, wanted);
    }
    result.decisions.push_back(std::move(decision));
  }

  // Which installed distributions would a replacement break? For conflicts too, so that the
  // conflict itself says what --allow-replace would cost. Only those that stay count: the ones
  // being replaced (or conflicting, as if replaced) get the lock's consistent versions.
  auto replacing = [](const Decision& d) {
    return d.action == Action::replace || d.action == Action::conflict;
  };
  std::set<std::string, std::less<>> replaced;
  for (const Decision& decision : result.decisions) {
    if (replacing(decision)) replaced.insert(decision.name);
  }
  if (replaced.empty()) return result;

  pep::MarkerContext context;
  context.environment = &options.markers;
  std::map<const env::InstalledDistribution*, ParsedRequires> cache;
  for (Decision& decision : result.decisions) {
    if (!replacing(decision)) continue;
    for (const env::InstalledDistribution& dependent : installed.distributions) {
      if (replaced.contains(dependent.name)) continue;
      for (const auto& [text, requirement] :
           parsed_requires(dependent, cache, result.warnings).requirements) {
        if (pep::normalize_name(requirement.name) != decision.name) continue;
        if (requirement.marker && !requirement.marker->evaluate(context)) continue;
        if (!requirement.url.empty()) continue;  // a URL pin says nothing about versions
        // An explicitly installed pre-release satisfies a specifier that admits it (pip check).
        if (requirement.specifier.contains(decision.version, /*prereleases=*/true)) continue;
        decision.broken.push_back({dependent.name, dependent.version, text});
      }
    }
  }
  return result;
}

nlohmann::json to_json(const Decision& decision) {
  nlohmann::json object = {{"action", to_string(decision.action)},
                           {"name", decision.name},
                           {"version", decision.version.str()},
                           {"wheel", decision.wheel},
                           {"sha256", decision.sha256},
                           {"reason", decision.reason}};
  if (decision.installed_version) {
    object["installed_version"] = *decision.installed_version;
    object["installed_owner"] = decision.installed_owner.empty() ? nlohmann::json("unmanaged")
                                                                 : nlohmann::json(decision.installed_owner);
    object["installer"] = decision.installer;
    object["installed_path"] = decision.installed_path.string();
  }
  if (decision.action == Action::replace) object["forced"] = decision.forced;
  if (decision.local_build) object["local_build"] = true;
  if (decision.installed_version) object["in_base"] = decision.in_base;
  if (!decision.broken.empty()) {
    nlohmann::json broken = nlohmann::json::array();
    for (const BrokenDependent& dependent : decision.broken) {
      broken.push_back(
          {{"name", dependent.name}, {"version", dependent.version}, {"requirement", dependent.requirement}});
    }
    object["breaks"] = std::move(broken);
  }
  return object;
}

nlohmann::json to_json(const Decisions& decisions) {
  nlohmann::json list = nlohmann::json::array();
  for (const Decision& decision : decisions.decisions) list.push_back(to_json(decision));
  nlohmann::json counts = nlohmann::json::object();
  for (Action action : {Action::install, Action::keep, Action::replace, Action::conflict})
    counts[std::string(to_string(action))] = decisions.count(action);
  return {{"decisions", std::move(list)}, {"warnings", decisions.warnings}, {"counts", std::move(counts)}};
}

}  // namespace strata::plan
