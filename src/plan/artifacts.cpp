#include "plan/artifacts.hpp"

#include <fmt/format.h>

#include "pep/name.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

std::string source_name_for(const lock::Lock& lock, const lock::Package& package) {
  if (!package.source.name.empty()) return package.source.name;
  for (const auto& source : lock.sources)
    if (!source.url.empty() && source.url == package.source.url) return source.name;
  return {};
}

fetch::ArtifactRequest request_for(const lock::Lock& lock, const lock::Package& package,
                                   const lock::Artifact& artifact, const fs::path& lock_dir) {
  fetch::ArtifactRequest request;
  request.package = fmt::format("{} {}", package.display_name, package.version_text);
  request.project = package.name;
  request.filename = artifact.filename;
  if (!artifact.url.empty())
    request.url = artifact.url;
  else if (!artifact.path.empty())
    request.url = (lock_dir / artifact.path).lexically_normal().string();
  if (package.source.kind == lock::SourceKind::index) {
    request.index_url = package.source.url;
    request.source_name = source_name_for(lock, package);
  }
  if (auto sha = artifact.hashes.find("sha256"); sha != artifact.hashes.end()) request.sha256 = sha->second;
  request.size = artifact.size;
  return request;
}

}  // namespace

std::optional<std::string> identity_mismatch(const lock::Package& package, const lock::Artifact& artifact) {
  auto wheel = pep::WheelFilename::parse(artifact.filename);
  if (!wheel) return fmt::format("the lock's file {} is not a valid wheel file name", artifact.filename);
  if (wheel->name == package.name && wheel->version == package.version) return std::nullopt;
  return fmt::format("the lock's file {} is a wheel of {} {}, not of {} {}; refusing it", artifact.filename,
                     wheel->name, wheel->version.str(), package.name, package.version.str());
}

WheelChoices choose_wheels(const lock::Lock& lock, const lock::Selection& selection,
                           const TagRanking& ranking, const fs::path& lock_dir) {
  WheelChoices out;
  std::vector<std::string> unsupported;
  for (const auto& package : selection.packages) {
    if (package.source.kind == lock::SourceKind::directory || package.source.kind == lock::SourceKind::vcs) {
      unsupported.push_back(
          fmt::format("{} ({})", package.display_name, lock::to_string(package.source.kind)));
      continue;
    }
    auto choice = choose_wheel(package, ranking);
    if (!choice) {
      out.problems.push_back(choice.error().message);
      continue;
    }
    const lock::Artifact& artifact = package.artifacts[choice->artifact];
    if (auto mismatch = identity_mismatch(package, artifact)) {
      out.problems.push_back(fmt::format("{} {}: {}", package.display_name, package.version_text, *mismatch));
      continue;
    }
    ChosenWheel chosen{&package, &artifact, request_for(lock, package, artifact, lock_dir)};
    if (chosen.request.sha256.empty()) {
      out.problems.push_back(
          fmt::format("{} {}: the lock has no sha256 for {}; strata installs only verified files",
                      package.display_name, package.version_text, artifact.filename));
      continue;
    }
    out.chosen.push_back(std::move(chosen));
  }
  if (!unsupported.empty())
    out.problems.push_back(fmt::format("not supported (needs a build): {}", util::join(unsupported, ", ")));
  return out;
}

Result<std::map<std::string, std::string>> parse_source_overrides(const std::vector<std::string>& values) {
  std::map<std::string, std::string> out;
  for (const auto& source : values) {
    auto eq = source.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == source.size())
      return fail(ErrorKind::usage, fmt::format("--source {}: expected NAME=URL", util::redact_url(source)));
    out[source.substr(0, eq)] = source.substr(eq + 1);
  }
  return out;
}

}  // namespace strata::plan
