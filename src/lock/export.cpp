#include "lock/export.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "lock/toml_read.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace strata::lock {
namespace fs = std::filesystem;
namespace {

using detail::quote;
using detail::storable_url;

constexpr std::string_view kPypi = "https://pypi.org/simple";

std::vector<const Package*> sorted(const std::vector<const Package*>& packages) {
  std::vector<const Package*> out = packages;
  std::stable_sort(out.begin(), out.end(), [](const Package* a, const Package* b) {
    if (a->name != b->name) return a->name < b->name;
    return a->version < b->version;
  });
  return out;
}

std::vector<const Artifact*> sorted_artifacts(const Package& p) {
  std::vector<const Artifact*> out;
  for (const auto& a : p.artifacts) out.push_back(&a);
  std::stable_sort(out.begin(), out.end(), [](const Artifact* a, const Artifact* b) {
    return std::tie(a->filename, a->hashes) < std::tie(b->filename, b->hashes);
  });
  return out;
}

std::string label(const Package& p) { return fmt::format("{} {}", p.display_name, p.version_text); }

/// The file's location: its URL without userinfo, else its absolute path.
std::string location_of(const Artifact& a, const fs::path& lock_dir) {
  if (!a.url.empty()) return storable_url(a.url);
  if (!a.path.empty()) return (lock_dir / a.path).lexically_normal().string();
  return {};
}

Result<void> exportable(const Package& p) {
  if (p.source.kind == SourceKind::directory || p.source.kind == SourceKind::vcs)
    return fail(ErrorKind::check, fmt::format("{}: a {} source has no hash to export; strata exports locked "
                                              "files only",
                                              label(p), to_string(p.source.kind)));
  return {};
}

/// The index URLs of the index packages, in order of first appearance ("" = PyPI).
std::vector<std::string> indexes_of(const Lock& lock, const std::vector<const Package*>& packages) {
  std::vector<std::string> out;
  auto add = [&](std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (url == kPypi) url.clear();
    if (std::find(out.begin(), out.end(), url) == out.end()) out.push_back(std::move(url));
  };
  for (const Package* p : packages)
    if (p->source.kind == SourceKind::index) add(p->source.url);
  for (const auto& url : lock.extra_index_urls) add(url);
  return out;
}

}  // namespace

Result<std::string> write_requirements_file(const Lock& lock, const std::vector<const Package*>& packages,
                                            const fs::path& lock_dir, std::string_view header) {
  std::string out(header);
  std::vector<const Package*> order = sorted(packages);
  std::vector<std::string> indexes = indexes_of(lock, order);
  if (!(indexes.empty() || (indexes.size() == 1 && indexes[0].empty()))) {
    bool first = true;
    for (const auto& url : indexes) {
      std::string written = url.empty() ? std::string(kPypi) : storable_url(url);
      if (written.empty()) continue;  // a credential in the query: not written
      out += fmt::format("{} {}\n", first ? "--index-url" : "--extra-index-url", written);
      first = false;
    }
  }
  std::vector<std::string> errors;
  for (const Package* p : order) {
    if (auto ok = exportable(*p); !ok) {
      errors.push_back(ok.error().message);
      continue;
    }
    std::vector<std::string> hashes;
    for (const Artifact* a : sorted_artifacts(*p))
      if (auto sha = a->hashes.find("sha256"); sha != a->hashes.end()) hashes.push_back(sha->second);
    std::sort(hashes.begin(), hashes.end());
    hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
    if (hashes.empty()) {
      errors.push_back(
          fmt::format("{}: the lock has no sha256 for it; strata exports only verified files", label(*p)));
      continue;
    }
    std::string line;
    if (p->source.kind == SourceKind::index) {
      line = fmt::format("{}=={}", p->name, p->version_text);
    } else {
      const Artifact& a = p->artifacts.front();
      std::string where = location_of(a, lock_dir);
      if (!a.url.empty() && where.empty()) {
        errors.push_back(fmt::format("{}: its URL carries a credential; not exported", label(*p)));
        continue;
      }
      if (a.url.empty()) where = "file://" + where;
      line = fmt::format("{} @ {}", p->name, where);
    }
    out += line;
    for (const auto& h : hashes) out += fmt::format(" \\\n    --hash=sha256:{}", h);
    out += "\n";
  }
  if (!errors.empty()) return fail(ErrorKind::check, util::join(errors, "\n"));
  return out;
}

Result<std::string> write_pylock_file(const Lock& /*lock*/, const std::vector<const Package*>& packages,
                                      const fs::path& lock_dir, std::string_view header) {
  std::string out(header);
  out += "lock-version = \"1.0\"\ncreated-by = \"strata\"\n";
  std::vector<std::string> errors;
  auto artifact_fields = [&](const Package& p, const Artifact& a) -> std::optional<std::string> {
    std::string s;
    if (!a.filename.empty()) s += fmt::format("name = {}\n", quote(a.filename));
    if (!a.url.empty()) {
      std::string url = storable_url(a.url);
      if (url.empty()) {
        errors.push_back(
            fmt::format("{}: the URL of {} carries a credential; not exported", label(p), a.filename));
        return std::nullopt;
      }
      s += fmt::format("url = {}\n", quote(url));
    } else if (!a.path.empty()) {
      s += fmt::format("path = {}\n", quote(location_of(a, lock_dir)));
    } else {
      errors.push_back(fmt::format("{}: the lock names no URL or path for {}", label(p),
                                   a.filename.empty() ? std::string("a file") : a.filename));
      return std::nullopt;
    }
    if (a.size) s += fmt::format("size = {}\n", *a.size);
    std::vector<std::string> hashes;
    for (const auto& [algorithm, hex] : a.hashes)
      hashes.push_back(fmt::format("{} = {}", algorithm, quote(hex)));
    s += fmt::format("hashes = {{ {} }}\n", util::join(hashes, ", "));
    return s;
  };
  for (const Package* p : sorted(packages)) {
    if (auto ok = exportable(*p); !ok) {
      errors.push_back(ok.error().message);
      continue;
    }
    out += fmt::format("\n[[packages]]\nname = {}\nversion = {}\n", quote(p->name), quote(p->version_text));
    if (p->source.kind != SourceKind::index) {
      if (auto fields = artifact_fields(*p, p->artifacts.front())) out += "\n[packages.archive]\n" + *fields;
      continue;
    }
    std::string index = p->source.url.empty() ? std::string(kPypi) : storable_url(p->source.url);
    if (!index.empty()) out += fmt::format("index = {}\n", quote(index));
    for (const Artifact* a : sorted_artifacts(*p)) {
      if (a->kind != Artifact::Kind::sdist) continue;
      if (auto fields = artifact_fields(*p, *a)) out += "\n[packages.sdist]\n" + *fields;
      break;  // PEP 751: one sdist
    }
    for (const Artifact* a : sorted_artifacts(*p)) {
      if (a->kind != Artifact::Kind::wheel) continue;
      if (auto fields = artifact_fields(*p, *a)) out += "\n[[packages.wheels]]\n" + *fields;
    }
  }
  if (!errors.empty()) return fail(ErrorKind::check, util::join(errors, "\n"));
  return out;
}

}  // namespace strata::lock
