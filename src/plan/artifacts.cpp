#include "plan/artifacts.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "build/git.hpp"
#include "build/source.hpp"
#include "fetch/hash.hpp"
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

std::string label(const lock::Package& package) {
  std::string name = package.display_name.empty() ? package.name : package.display_name;
  return package.version_text.empty() ? name : fmt::format("{} {}", name, package.version_text);
}

/// The best-ranked wheel in the find-links directories with the package's name and version.
std::optional<ChosenWheel> find_links_wheel(const lock::Package& package, const TagRanking& ranking,
                                            const std::vector<fs::path>& dirs) {
  std::optional<std::pair<long, fs::path>> best;
  std::error_code ec;
  for (const auto& dir : dirs) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string filename = entry.path().filename().string();
      if (!filename.ends_with(".whl") || !entry.is_regular_file(ec)) continue;
      auto wheel = pep::WheelFilename::parse(filename);
      if (!wheel || wheel->name != package.name || !(wheel->version == package.version)) continue;
      long rank = -1;
      for (const auto& tag : wheel->tags) {
        long r = ranking.rank(tag);
        if (r >= 0 && (rank < 0 || r < rank)) rank = r;
      }
      if (rank >= 0 && (!best || rank < best->first)) best = {rank, entry.path()};
    }
  }
  if (!best) return std::nullopt;
  auto sha = fetch::sha256_file(best->second);
  if (!sha) return std::nullopt;
  ChosenWheel chosen;
  chosen.package = &package;
  chosen.unlocked = true;
  chosen.request.package = label(package);
  chosen.request.project = package.name;
  chosen.request.filename = best->second.filename().string();
  chosen.request.url = best->second.string();
  chosen.request.sha256 = *sha;
  return chosen;
}

bool is_project(const lock::Lock& lock, const lock::Package& package, const fs::path& lock_dir) {
  if (!lock.project_name.empty() && package.name == lock.project_name) return true;
  if (package.source.kind != lock::SourceKind::directory) return false;
  std::error_code ec;
  auto dir = fs::weakly_canonical(lock_dir / package.source.path, ec);
  return !ec && dir == fs::weakly_canonical(lock_dir, ec);
}

/// What to build a package without a compatible wheel from; an error line when it cannot be.
Result<ChosenBuild> build_choice(const lock::Lock& lock, const lock::Package& package,
                                 const fs::path& lock_dir, const BuildPolicy& policy) {
  ChosenBuild build;
  build.package = &package;
  build.version = package.version_text;
  const auto& source = package.source;
  switch (source.kind) {
    case lock::SourceKind::directory: {
      build.from = BuildFrom::directory;
      build.directory = fs::absolute(lock_dir / source.path).lexically_normal();
      build.editable = source.editable && !policy.no_editable;
      auto tree = build::project_dir(build.directory, source.subdirectory, label(package));
      if (!tree) return std::unexpected(tree.error());
      build.directory = *tree;
      auto key = build.editable ? build::editable_key(*tree) : build::hash_tree(*tree);
      if (!key) return std::unexpected(key.error());
      build.source_key = build.editable ? *key : "dir:" + *key;
      if (build.version.empty()) {
        auto version = build::static_version(*tree);
        if (!version) return std::unexpected(version.error());
        build.version = *version;
      }
      return build;
    }
    case lock::SourceKind::vcs: {
      if (source.vcs != "git")
        return fail(ErrorKind::check,
                    fmt::format("{}: {} sources are not supported (only git)", label(package), source.vcs));
      build.from = BuildFrom::git;
      std::string commit = util::to_lower(source.commit_id);
      if (commit.size() != 40)
        return fail(ErrorKind::check,
                    fmt::format("{}: the lock names no full commit for {} (got \"{}\")", label(package),
                                util::redact_url(source.url), source.commit_id));
      build.source_key = "git:" + commit + (source.subdirectory.empty() ? "" : ":" + source.subdirectory);
      return build;
    }
    case lock::SourceKind::index:
    case lock::SourceKind::url:
    case lock::SourceKind::file: {
      build.from = source.kind == lock::SourceKind::index ? BuildFrom::sdist : BuildFrom::archive;
      for (const auto& artifact : package.artifacts) {
        if (artifact.kind != lock::Artifact::Kind::sdist) continue;
        auto request = request_for(lock, package, artifact, lock_dir);
        if (request.sha256.empty())
          return fail(ErrorKind::check,
                      fmt::format("{}: the lock has no sha256 for {}; strata builds only verified sources",
                                  label(package), artifact.filename));
        build.source_key = "sha256:" + request.sha256;
        build.request = std::move(request);
        return build;
      }
      return fail(ErrorKind::check, "");  // no sdist: the wheel choice's message stands
    }
  }
  return fail(ErrorKind::check, "");
}

}  // namespace

std::optional<std::string> identity_mismatch(const lock::Package& package, const lock::Artifact& artifact) {
  auto wheel = pep::WheelFilename::parse(artifact.filename);
  if (!wheel) return fmt::format("the lock's file {} is not a valid wheel file name", artifact.filename);
  if (wheel->name == package.name && wheel->version == package.version) return std::nullopt;
  return fmt::format("the lock's file {} is a wheel of {} {}, not of {} {}; refusing it", artifact.filename,
                     wheel->name, wheel->version.str(), package.name, package.version.str());
}

const char* to_string(BuildFrom from) {
  switch (from) {
    case BuildFrom::sdist:
      return "sdist";
    case BuildFrom::archive:
      return "archive";
    case BuildFrom::directory:
      return "directory";
    case BuildFrom::git:
      return "git";
  }
  return "sdist";
}

WheelChoices choose_wheels(const lock::Lock& lock, const lock::Selection& selection,
                           const TagRanking& ranking, const fs::path& lock_dir, const BuildPolicy& policy) {
  WheelChoices out;
  std::vector<std::string> unsupported;
  bool project_listed = false;
  for (const auto& package : selection.packages) {
    const bool source_tree =
        package.source.kind == lock::SourceKind::directory || package.source.kind == lock::SourceKind::vcs;
    if (policy.allow && is_project(lock, package, lock_dir)) {
      project_listed = true;
      if (!policy.install_project) {
        out.notes.push_back(
            fmt::format("{}: the project itself, not installed; --install-project to build "
                        "and install it",
                        package.display_name));
        continue;
      }
    }
    if (!policy.allow && source_tree) {
      unsupported.push_back(
          fmt::format("{} ({})", package.display_name, lock::to_string(package.source.kind)));
      continue;
    }
    Result<WheelChoice> choice =
        source_tree ? Result<WheelChoice>(fail(ErrorKind::check, "")) : choose_wheel(package, ranking);
    if (!choice) {
      const bool has_sdist = std::ranges::any_of(
          package.artifacts, [](const lock::Artifact& a) { return a.kind == lock::Artifact::Kind::sdist; });
      if (!policy.allow) {
        out.problems.push_back(
            choice.error().message +
            (has_sdist ? "; `strata install` builds it from its sdist (unless --no-build or --only-binary), "
                         "or pick another Python (--python)"
                       : "; it has no sdist to build: pick a Python its wheels are for (--python)"));
        continue;
      }
      if (auto wheel = find_links_wheel(package, ranking, policy.find_links)) {
        out.notes.push_back(
            fmt::format("{}: the lock has no wheel for the target; using {} from --find-links "
                        "(not a locked file: its sha256 {} is recorded)",
                        label(package), wheel->request.filename, wheel->request.sha256));
        out.chosen.push_back(std::move(*wheel));
        continue;
      }
      auto build = build_choice(lock, package, lock_dir, policy);
      if (!build) {
        out.problems.push_back(
            build.error().message.empty()
                ? choice.error().message +
                      "; it has no sdist to build: pick a Python its wheels are for (--python)"
                : build.error().message);
        continue;
      }
      if (policy.only_binary.contains(":all:") || policy.only_binary.contains(package.name)) {
        out.problems.push_back(
            fmt::format("{}: --only-binary, but the lock has no wheel for the target; "
                        "it would be built from its {}",
                        label(package), to_string(build->from)));
        continue;
      }
      build->project = is_project(lock, package, lock_dir);
      out.builds.push_back(std::move(*build));
      continue;
    }
    const lock::Artifact& artifact = package.artifacts[choice->artifact];
    if (auto mismatch = identity_mismatch(package, artifact)) {
      out.problems.push_back(fmt::format("{} {}: {}", package.display_name, package.version_text, *mismatch));
      continue;
    }
    ChosenWheel chosen{&package, &artifact, request_for(lock, package, artifact, lock_dir), false};
    if (chosen.request.sha256.empty()) {
      out.problems.push_back(
          fmt::format("{} {}: the lock has no sha256 for {}; strata installs only verified files",
                      package.display_name, package.version_text, artifact.filename));
      continue;
    }
    out.chosen.push_back(std::move(chosen));
  }
  // Poetry locks never list the project itself: --install-project builds the lock's directory.
  if (policy.allow && policy.install_project && !project_listed && lock.has_project &&
      !lock.project_name.empty()) {
    auto package = std::make_shared<lock::Package>();
    package->name = lock.project_name;
    package->display_name = lock.project_name;
    package->source.kind = lock::SourceKind::directory;
    package->source.path = ".";
    auto version = build::static_version(lock_dir);
    if (!version) {
      out.problems.push_back(version.error().message);
    } else {
      package->version_text = *version;
      if (auto parsed = pep::Version::parse(*version)) package->version = *parsed;
      auto build = build_choice(lock, *package, lock_dir, policy);
      if (!build) {
        out.problems.push_back(build.error().message);
      } else {
        build->project = true;
        out.builds.push_back(std::move(*build));
        out.extra_packages.push_back(std::move(package));
      }
    }
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

}  // namespace strata::plan
