#include "plan/locate.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fetch/hash.hpp"
#include "fetch/url.hpp"
#include "pep/name.hpp"
#include "pep/specifier.hpp"
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

/// A located file with its Requires-Python (from the page), when it has one.
struct Match {
  lock::Artifact artifact;
  std::optional<std::string> requires_python;
};

std::optional<Match> read_cached(const fs::path& root, const lock::Artifact& hash_only) {
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
  std::optional<std::string> requires_python;
  if (doc.contains("requires_python") && doc["requires_python"].is_string())
    requires_python = doc["requires_python"].get<std::string>();
  return Match{located(doc["filename"].get<std::string>(), doc["url"].get<std::string>(), size,
                       std::move(hashes), hash_only),
               std::move(requires_python)};
}

void write_cached(const fs::path& root, const Match& match) {
  const lock::Artifact& artifact = match.artifact;
  auto sha = artifact.hashes.find("sha256");
  if (root.empty() || sha == artifact.hashes.end() || !fetch::is_sha256_hex(sha->second)) return;
  nlohmann::json doc = {
      {"filename", artifact.filename}, {"url", fetch::redact_url(artifact.url)}, {"hashes", artifact.hashes}};
  if (artifact.size) doc["size"] = *artifact.size;
  if (match.requires_python) doc["requires_python"] = *match.requires_python;
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
  std::vector<std::optional<Match>> found;
  std::vector<lock::Artifact> hash_only;
  std::vector<std::size_t> pages;  // indexes into the page requests, in search order
  std::vector<std::string> searched;
  bool complete() const {
    for (const auto& f : found)
      if (!f) return false;
    return true;
  }
};

/// Whether the target can install `filename`: a wheel with a supported tag, or a source archive.
bool installable(const std::string& filename, const TagRanking* ranking, long& rank) {
  rank = -1;
  if (!filename.ends_with(".whl")) return true;
  auto wheel = pep::WheelFilename::parse(filename);
  if (!wheel || !ranking) return false;
  for (const auto& tag : wheel->tags) {
    long r = ranking->rank(tag);
    if (r >= 0 && (rank < 0 || r < rank)) rank = r;
  }
  return rank >= 0;
}

/// Whether Requires-Python `spec` excludes `python` (pip's check_requires_python: an invalid
/// specifier excludes nothing).
bool excludes(const std::optional<std::string>& spec, const std::optional<pep::Version>& python) {
  if (!spec || !python || util::trim(*spec).empty()) return false;
  auto parsed = pep::SpecifierSet::parse(*spec);
  return parsed && !parsed->contains(*python, true);
}

bool is_url(std::string_view link) { return link.find("://") != std::string_view::npos; }

}  // namespace

LocateTarget locate_target(std::string_view interpreter_version, const TagRanking* ranking) {
  LocateTarget out;
  out.ranking = ranking;
  if (auto v = pep::Version::parse(interpreter_version)) {
    std::vector<std::uint64_t> release = v->release();
    release.resize(3, 0);
    out.python = pep::Version::from_parts(0, release);
  }
  return out;
}

bool needs_locating(const std::vector<lock::Package>& packages, bool unlocated_too) {
  for (const auto& package : packages)
    for (const auto& artifact : package.artifacts)
      if (wanted(artifact, unlocated_too)) return true;
  return false;
}

Result<void> locate_hashed_artifacts(std::vector<lock::Package>& packages, const lock::Lock& lock,
                                     const fetch::FetchOptions& options, fetch::HttpTransport& transport,
                                     fetch::CredentialResolver& credentials, LocateStats& stats,
                                     bool unlocated_too, const LocateTarget& target) {
  std::vector<Pending> pending;
  for (auto& package : packages) {
    Pending p;
    p.package = &package;
    bool any = false;
    std::optional<std::map<std::string, fs::path>> local;
    for (const auto& artifact : package.artifacts) {
      if (!wanted(artifact, unlocated_too)) {
        p.found.emplace_back(Match{artifact, std::nullopt});
        p.hash_only.push_back({});
        continue;
      }
      any = true;
      p.hash_only.push_back(artifact);
      std::optional<Match> match;
      if (!options.find_links.empty()) {
        if (!local) local = find_links_files(package, options.find_links);
        auto sha = artifact.hashes.find("sha256");
        if (sha != artifact.hashes.end())
          if (auto it = local->find(sha->second); it != local->end()) {
            match = Match{
                located(it->second.filename().string(), it->second.string(), std::nullopt, {}, artifact),
                std::nullopt};
            ++stats.from_find_links;
          }
      }
      if (!match) {
        match = read_cached(options.cache_dir, artifact);
        if (match && !artifact.filename.empty() && match->artifact.filename != artifact.filename)
          match.reset();
        if (match) ++stats.from_cache;
      }
      if (match) ++stats.located;
      p.found.push_back(std::move(match));
    }
    if (any) pending.push_back(std::move(p));
  }
  if (pending.empty()) return {};

  // The pages of packages with hashes still unmatched: --find-links pages, the package's own
  // index, then every extra index (with --no-index, the --find-links pages only).
  std::vector<std::string> link_pages;
  for (const auto& link : lock.find_links)
    if (is_url(link)) link_pages.push_back(link);
  std::vector<fetch::ArtifactRequest> requests;
  std::vector<bool> is_link_page;
  for (auto& p : pending) {
    if (p.complete()) continue;
    const lock::Package& package = *p.package;
    fetch::ArtifactRequest own;
    own.package = label(package);
    own.project = package.name;
    if (package.source.kind == lock::SourceKind::index) {
      own.index_url = package.source.url;
      own.source_name = package.source.name;
    }
    for (const auto& link : link_pages) {
      fetch::ArtifactRequest page = own;
      page.index_url = link;
      page.source_name.clear();
      page.page_url = link;
      p.pages.push_back(requests.size());
      requests.push_back(std::move(page));
      is_link_page.push_back(true);
    }
    if (lock.no_index) continue;
    p.pages.push_back(requests.size());
    requests.push_back(own);
    is_link_page.push_back(false);
    for (const auto& extra : lock.extra_index_urls) {
      fetch::ArtifactRequest more = own;
      more.index_url = extra;
      // A named extra index (pdm's sources) gets its credentials by name, as the package's own.
      auto named = std::find_if(lock.sources.begin(), lock.sources.end(),
                                [&](const lock::Source& s) { return s.url == extra && !s.name.empty(); });
      more.source_name = named == lock.sources.end() ? "" : named->name;
      p.pages.push_back(requests.size());
      requests.push_back(std::move(more));
      is_link_page.push_back(false);
    }
  }
  std::vector<Result<fetch::ProjectPage>> pages;
  if (!options.offline && !requests.empty()) {
    fetch::ProgressObserver quiet;
    pages = fetch::fetch_project_pages(requests, options, transport, credentials, quiet);
    std::map<std::string, bool> counted;
    for (const auto& request : requests)
      if (counted.try_emplace(fetch::project_page_for(request, options), true).second) ++stats.pages;
  }

  std::vector<std::string> errors;
  std::vector<std::string> python_errors;  // files only Requires-Python refused
  // Links without a hash to download: (pending index, link) pairs.
  std::vector<std::pair<std::size_t, fetch::IndexFile>> unhashed;
  std::vector<bool> refused(pending.size(), false);
  for (std::size_t k = 0; k < pending.size(); ++k) {
    Pending& p = pending[k];
    lock::Package& package = *p.package;
    const std::size_t errors_before = errors.size();
    std::optional<fetch::IndexFile> best_unhashed;
    long best_rank = -1;
    for (std::size_t page_index : p.pages) {
      std::string url = fetch::redact_url(fetch::project_page_for(requests[page_index], options));
      if (options.offline) {
        p.searched.push_back(fmt::format("{} (not asked: offline)", url));
        continue;
      }
      const auto& page = pages[page_index];
      if (!page) {
        p.searched.push_back(fmt::format("{} ({})", url, page.error().message));
        continue;
      }
      p.searched.push_back(fmt::format("{} ({} files)", url, page->files.size()));
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
          p.found[i] = Match{located(file->filename, file->url, file->size, file->hashes, p.hash_only[i]),
                             file->requires_python};
          write_cached(options.cache_dir, *p.found[i]);
          ++stats.located;
          break;
        }
      }
      if (!is_link_page[page_index]) continue;
      // A --find-links page's links without a hash, of this package: the best one the target can
      // install is a candidate for downloading (pip downloads it and compares the hash).
      for (const auto& file : page->files) {
        if (!file.hashes.empty() || not_of_package(package, file.filename)) continue;
        auto wheel = pep::WheelFilename::parse(file.filename);
        auto sdist = pep::SdistFilename::parse(file.filename);
        if (!(wheel && wheel->name == package.name) && !(sdist && sdist->name == package.name)) continue;
        if (excludes(file.requires_python, target.python)) continue;
        long rank = -1;
        if (!installable(file.filename, target.ranking, rank)) continue;
        const bool better = !best_unhashed || (rank >= 0 && (best_rank < 0 || rank < best_rank));
        if (better) {
          best_unhashed = file;
          best_rank = rank;
        }
      }
    }
    if (errors.size() > errors_before) {
      refused[k] = true;
      continue;
    }
    if (!best_unhashed || p.complete()) continue;
    // Downloaded only when no located file is one the target can install.
    bool usable = false;
    for (std::size_t i = 0; i < p.found.size(); ++i) {
      long rank = -1;
      usable = usable || (p.found[i] && !excludes(p.found[i]->requires_python, target.python) &&
                          installable(p.found[i]->artifact.filename, target.ranking, rank));
    }
    if (!usable) unhashed.emplace_back(k, *best_unhashed);
  }

  if (!unhashed.empty()) {
    std::vector<fetch::ArtifactRequest> downloads;
    for (const auto& [k, file] : unhashed) {
      fetch::ArtifactRequest r;
      r.package = label(*pending[k].package);
      r.project = pending[k].package->name;
      r.filename = file.filename;
      r.url = file.url;
      downloads.push_back(std::move(r));
    }
    fetch::ProgressObserver quiet;
    auto fetched = fetch::fetch_unhashed(downloads, options, transport, credentials, quiet);
    for (std::size_t d = 0; d < unhashed.size(); ++d) {
      Pending& p = pending[unhashed[d].first];
      const fetch::IndexFile& file = unhashed[d].second;
      if (!fetched[d]) {
        p.searched.push_back(
            fmt::format("{} (downloading it: {})", fetch::redact_url(file.url), fetched[d].error().message));
        continue;
      }
      ++stats.downloaded;
      bool matched = false;
      for (std::size_t i = 0; i < p.found.size() && !matched; ++i) {
        if (p.found[i]) continue;
        auto sha = p.hash_only[i].hashes.find("sha256");
        if (sha == p.hash_only[i].hashes.end() || sha->second != fetched[d]->sha256) continue;
        p.found[i] = Match{located(file.filename, file.url, fetched[d]->size,
                                   {{"sha256", fetched[d]->sha256}}, p.hash_only[i]),
                           file.requires_python};
        write_cached(options.cache_dir, *p.found[i]);
        ++stats.located;
        matched = true;
      }
      if (!matched)
        p.searched.push_back(fmt::format("{} (downloaded: sha256:{}, not one of the lock's hashes)",
                                         fetch::redact_url(file.url), fetched[d]->sha256));
    }
  }

  for (std::size_t k = 0; k < pending.size(); ++k) {
    if (refused[k]) continue;
    Pending& p = pending[k];
    lock::Package& package = *p.package;
    // pip skips a file whose Requires-Python excludes the interpreter.
    std::vector<std::string> skipped;
    for (std::size_t i = 0; i < p.found.size(); ++i) {
      if (!p.found[i] || !excludes(p.found[i]->requires_python, target.python)) continue;
      skipped.push_back(fmt::format("{} requires Python \"{}\"", p.found[i]->artifact.filename,
                                    *p.found[i]->requires_python));
      p.found[i].reset();
    }
    std::size_t dropped = 0;
    std::vector<lock::Artifact> artifacts;
    for (auto& f : p.found) {
      if (f)
        artifacts.push_back(std::move(f->artifact));
      else
        ++dropped;
    }
    if (artifacts.empty() && !skipped.empty()) {
      python_errors.push_back(
          fmt::format("{}: {}, not Python {}: pip refuses such a file for this interpreter "
                      "(Requires-Python on the index page)",
                      label(package), util::join(skipped, ", "), target.python->str()));
      continue;
    }
    if (artifacts.empty()) {
      errors.push_back(fmt::format(
          "{}: none of the lock's {} hashes is a file on {}{}", label(package), p.hash_only.size(),
          p.searched.empty() ? std::string("the --find-links directories (the file says --no-index)")
                             : util::join(p.searched, ", "),
          options.offline ? "; run once without --offline (or give --find-links)" : ""));
      continue;
    }
    if (!skipped.empty())
      stats.notes.push_back(fmt::format("{}: skipped {}, not Python {}", label(package),
                                        util::join(skipped, ", "), target.python->str()));
    if (dropped > skipped.size())
      stats.notes.push_back(fmt::format("{}: {} of the lock's hashes match no file on {}; ignored",
                                        label(package), dropped - skipped.size(),
                                        util::join(p.searched, ", ")));
    package.artifacts = std::move(artifacts);
  }
  const ErrorKind kind = errors.empty() ? ErrorKind::check : ErrorKind::runtime;
  errors.insert(errors.end(), python_errors.begin(), python_errors.end());
  if (errors.empty()) return {};
  if (errors.size() == 1) return fail(kind, errors.front());
  std::string message = fmt::format("{} problems locating the lock's files on the index:", errors.size());
  for (const auto& e : errors) message += "\n  " + e;
  return fail(kind, message);
}

}  // namespace strata::plan
