#include "plan/locate.hpp"

#include <map>
#include <optional>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fetch/hash.hpp"
#include "fetch/url.hpp"
#include "pep/name.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

/// Whether `artifact` is to be located: hash-only, or with `unlocated_too` any without URL or path.
bool wanted(const lock::Artifact& artifact, bool unlocated_too) {
  if (lock::is_hash_only(artifact)) return true;
  return unlocated_too && artifact.url.empty() && artifact.path.empty() && !artifact.hashes.empty();
}

std::string label(const lock::Package& package) {
  return fmt::format("{} {}", package.display_name.empty() ? package.name : package.display_name,
                     package.version_text);
}

/// Why `filename` is not a file of `package` (another name or version), or nothing.
std::optional<std::string> not_of_package(const lock::Package& package, const std::string& filename) {
  if (filename.ends_with(".whl")) {
    auto wheel = pep::WheelFilename::parse(filename);
    if (!wheel) return fmt::format("{} is not a valid wheel file name", filename);
    if (wheel->name == package.name && wheel->version == package.version) return std::nullopt;
    return fmt::format("{} is a wheel of {} {}", filename, wheel->name, wheel->version.str());
  }
  // Source archives: checked when the name parses (legacy names are taken as they are).
  auto sdist = pep::SdistFilename::parse(filename);
  if (!sdist || (sdist->name == package.name && sdist->version == package.version)) return std::nullopt;
  return fmt::format("{} is a source archive of {} {}", filename, sdist->name, sdist->version.str());
}

lock::Artifact located(std::string filename, std::string url, std::optional<std::uint64_t> size,
                       std::map<std::string, std::string> hashes, const lock::Artifact& hash_only) {
  lock::Artifact out;
  out.kind = filename.ends_with(".whl") ? lock::Artifact::Kind::wheel : lock::Artifact::Kind::sdist;
  out.filename = std::move(filename);
  out.url = std::move(url);
  out.size = size;
  out.hashes = std::move(hashes);
  for (const auto& [algorithm, hex] : hash_only.hashes) out.hashes[algorithm] = hex;
  if (!hash_only.size) return out;
  out.size = hash_only.size;  // the lock's size stands; fetch compares it with the download
  return out;
}

// The cache of earlier matches: one small JSON file per sha256.
fs::path cache_file(const fs::path& root, std::string_view sha256) {
  return root / "located" / (std::string(sha256) + ".json");
}

std::optional<lock::Artifact> read_cached(const fs::path& root, const lock::Artifact& hash_only) {
  auto sha = hash_only.hashes.find("sha256");
  if (root.empty() || sha == hash_only.hashes.end() || !fetch::is_sha256_hex(sha->second))
    return std::nullopt;
  std::error_code ec;
  fs::path file = cache_file(root, sha->second);
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  auto text = util::read_file(file);
  if (!text) return std::nullopt;
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (!doc.is_object() || !doc.contains("filename") || !doc["filename"].is_string() || !doc.contains("url") ||
      !doc["url"].is_string())
    return std::nullopt;
  std::optional<std::uint64_t> size;
  if (doc.contains("size") && doc["size"].is_number_unsigned()) size = doc["size"].get<std::uint64_t>();
  std::map<std::string, std::string> hashes;
  if (doc.contains("hashes") && doc["hashes"].is_object())
    for (const auto& [algorithm, hex] : doc["hashes"].items())
      if (hex.is_string()) hashes[algorithm] = hex.get<std::string>();
  return located(doc["filename"].get<std::string>(), doc["url"].get<std::string>(), size, std::move(hashes),
                 hash_only);
}

void write_cached(const fs::path& root, const lock::Artifact& artifact) {
  auto sha = artifact.hashes.find("sha256");
  if (root.empty() || sha == artifact.hashes.end() || !fetch::is_sha256_hex(sha->second)) return;
  nlohmann::json doc = {
      {"filename", artifact.filename}, {"url", fetch::redact_url(artifact.url)}, {"hashes", artifact.hashes}};
  if (artifact.size) doc["size"] = *artifact.size;
  // A URL with credentials is not cached (the redacted one would not work): the page is asked again.
  if (doc["url"].get<std::string>() != artifact.url) return;
  fs::path file = cache_file(root, sha->second);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  // An optimisation only: a failed write means the next run asks the index again.
  (void)util::write_file_atomic(file, doc.dump(1) + "\n", util::Durability::process_crash);
}

/// The --find-links files of `package` by their sha256 (hashed once per run).
std::map<std::string, fs::path> find_links_files(const lock::Package& package,
                                                 const std::vector<fs::path>& dirs) {
  std::map<std::string, fs::path> out;
  std::error_code ec;
  for (const auto& dir : dirs) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string filename = entry.path().filename().string();
      if (!entry.is_regular_file(ec)) continue;
      bool ours = false;
      if (auto wheel = pep::WheelFilename::parse(filename))
        ours = wheel->name == package.name && wheel->version == package.version;
      else if (auto sdist = pep::SdistFilename::parse(filename))
        ours = sdist->name == package.name && sdist->version == package.version;
      if (!ours) continue;
      if (auto sha = fetch::sha256_file(entry.path())) out.emplace(*sha, fs::absolute(entry.path()));
    }
  }
  return out;
}

/// One package being located: its artifacts (nullopt: still hash-only) in the lock's order.
struct Pending {
  lock::Package* package = nullptr;
  std::vector<std::optional<lock::Artifact>> found;
  std::vector<lock::Artifact> hash_only;
  std::vector<std::size_t> pages;  // indexes into the page requests, in search order
  bool any_found() const {
    for (const auto& f : found)
      if (f) return true;
    return false;
  }
};

}  // namespace

bool needs_locating(const std::vector<lock::Package>& packages, bool unlocated_too) {
  for (const auto& package : packages)
    for (const auto& artifact : package.artifacts)
      if (wanted(artifact, unlocated_too)) return true;
  return false;
}

Result<void> locate_hashed_artifacts(std::vector<lock::Package>& packages, const lock::Lock& lock,
                                     const fetch::FetchOptions& options, fetch::HttpTransport& transport,
                                     fetch::CredentialResolver& credentials, LocateStats& stats,
                                     bool unlocated_too) {
  std::vector<Pending> pending;
  std::vector<std::string> errors;
  for (auto& package : packages) {
    Pending p;
    p.package = &package;
    std::optional<std::map<std::string, fs::path>> local;
    for (const auto& artifact : package.artifacts) {
      if (!wanted(artifact, unlocated_too)) {
        p.found.emplace_back(artifact);
        p.hash_only.push_back({});
        continue;
      }
      p.hash_only.push_back(artifact);
      std::optional<lock::Artifact> match;
      if (!options.find_links.empty()) {
        if (!local) local = find_links_files(package, options.find_links);
        auto sha = artifact.hashes.find("sha256");
        if (sha != artifact.hashes.end())
          if (auto it = local->find(sha->second); it != local->end()) {
            match = located(it->second.filename().string(), it->second.string(), std::nullopt, {}, artifact);
            ++stats.from_find_links;
          }
      }
      if (!match) {
        match = read_cached(options.cache_dir, artifact);
        if (match && !artifact.filename.empty() && match->filename != artifact.filename) match.reset();
        if (match) ++stats.from_cache;
      }
      if (match) ++stats.located;
      p.found.push_back(std::move(match));
    }
    bool any = false, all = true;
    for (std::size_t i = 0; i < p.found.size(); ++i) {
      any = any || wanted(package.artifacts[i], unlocated_too);
      all = all && p.found[i].has_value();
    }
    if (!any) continue;
    if (all) {  // every hash matched a --find-links file or the cache
      package.artifacts.clear();
      for (auto& f : p.found) package.artifacts.push_back(std::move(*f));
      continue;
    }
    pending.push_back(std::move(p));
  }
  if (pending.empty()) return {};

  // The pages: the package's own index, then every extra index.
  std::vector<fetch::ArtifactRequest> requests;
  for (auto& p : pending) {
    const lock::Package& package = *p.package;
    fetch::ArtifactRequest own;
    own.package = label(package);
    own.project = package.name;
    if (package.source.kind == lock::SourceKind::index) {
      own.index_url = package.source.url;
      own.source_name = package.source.name;
    }
    p.pages.push_back(requests.size());
    requests.push_back(own);
    for (const auto& extra : lock.extra_index_urls) {
      fetch::ArtifactRequest more = own;
      more.index_url = extra;
      more.source_name.clear();
      p.pages.push_back(requests.size());
      requests.push_back(std::move(more));
    }
  }
  std::vector<Result<fetch::ProjectPage>> pages;
  if (!options.offline) {
    fetch::ProgressObserver quiet;
    pages = fetch::fetch_project_pages(requests, options, transport, credentials, quiet);
    std::map<std::string, bool> counted;
    for (const auto& request : requests)
      if (counted.try_emplace(fetch::project_page_for(request, options), true).second) ++stats.pages;
  }

  for (auto& p : pending) {
    lock::Package& package = *p.package;
    std::vector<std::string> searched;
    const std::size_t errors_before = errors.size();
    for (std::size_t page_index : p.pages) {
      std::string url = fetch::redact_url(fetch::project_page_for(requests[page_index], options));
      if (options.offline) {
        searched.push_back(fmt::format("{} (not asked: offline)", url));
        continue;
      }
      const auto& page = pages[page_index];
      if (!page) {
        searched.push_back(fmt::format("{} ({})", url, page.error().message));
        continue;
      }
      searched.push_back(fmt::format("{} ({} files)", url, page->files.size()));
      for (std::size_t i = 0; i < p.found.size(); ++i) {
        if (p.found[i]) continue;
        for (const auto& [algorithm, hex] : p.hash_only[i].hashes) {
          const fetch::IndexFile* file = page->find_hash(algorithm, hex);
          if (!file) continue;
          if (!p.hash_only[i].filename.empty() && file->filename != p.hash_only[i].filename) {
            errors.push_back(fmt::format("{}: the file with {}:{} on {} is {}, not the locked {}",
                                         label(package), algorithm, hex, url, file->filename,
                                         p.hash_only[i].filename));
            break;
          }
          if (auto other = not_of_package(package, file->filename)) {
            errors.push_back(fmt::format("{}: the file with {}:{} on {} is not this package's: {}",
                                         label(package), algorithm, hex, url, *other));
            break;
          }
          p.found[i] = located(file->filename, file->url, file->size, file->hashes, p.hash_only[i]);
          write_cached(options.cache_dir, *p.found[i]);
          ++stats.located;
          break;
        }
      }
    }
    if (errors.size() > errors_before) continue;  // a refused file says it already
    if (!p.any_found()) {
      errors.push_back(
          fmt::format("{}: none of the lock's {} hashes is a file on {}{}", label(package),
                      p.hash_only.size(), util::join(searched, ", "),
                      options.offline ? "; run once without --offline (or give --find-links)" : ""));
      continue;
    }
    std::size_t dropped = 0;
    std::vector<lock::Artifact> artifacts;
    for (auto& f : p.found) {
      if (f)
        artifacts.push_back(std::move(*f));
      else
        ++dropped;
    }
    if (dropped)
      stats.notes.push_back(fmt::format("{}: {} of the lock's hashes match no file on {}; ignored",
                                        label(package), dropped, util::join(searched, ", ")));
    package.artifacts = std::move(artifacts);
  }
  if (errors.empty()) return {};
  if (errors.size() == 1) return fail(ErrorKind::runtime, errors.front());
  std::string message = fmt::format("{} problems locating the lock's files on the index:", errors.size());
  for (const auto& e : errors) message += "\n  " + e;
  return fail(ErrorKind::runtime, message);
}

}  // namespace strata::plan
