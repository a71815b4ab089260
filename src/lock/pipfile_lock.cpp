#include "lock/pipfile_lock.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lock/toml_read.hpp"
#include "pep/name.hpp"
#include "util/strings.hpp"

namespace strata::lock {
namespace {

using nlohmann::json;

[[noreturn]] void fail_in(std::string_view source, std::string_view where, std::string_view message) {
  throw CommandError(ErrorKind::usage, fmt::format("{}: {}: {}", source, where, message));
}

std::string string_at(std::string_view source, const json& object, std::string_view key,
                      std::string_view where) {
  auto it = object.find(key);
  if (it == object.end()) return {};
  if (!it->is_string()) fail_in(source, fmt::format("{}.{}", where, key), "expected a string");
  return it->get<std::string>();
}

// pipenv's category names: "default" is the main group, "develop" is `--with dev`.
std::string group_of(const std::string& category) {
  if (category == "develop") return "dev";
  return pep::normalize_name(category);
}

bool is_pypi(std::string_view url) {
  return url.starts_with("https://pypi.org/simple") || url.starts_with("https://pypi.python.org/simple");
}

Package read_entry(std::string_view source, const std::string& name, const json& entry,
                   const std::string& where, const Lock& lock) {
  if (!entry.is_object()) fail_in(source, where, "expected an object");
  Package p;
  p.location = fmt::format("{}: {}", source, where);
  if (!pep::is_valid_name(name)) fail_in(source, where, fmt::format("invalid package name \"{}\"", name));
  p.display_name = name;
  p.name = pep::normalize_name(name);
  std::string version = string_at(source, entry, "version", where);
  if (version.starts_with("==")) {
    p.version_text = util::trim(version.substr(2));
    auto parsed = pep::Version::parse(p.version_text);
    if (!parsed) fail_in(source, where + ".version", fmt::format("invalid version \"{}\"", version));
    p.version = *parsed;
  } else if (!version.empty() && version != "*") {
    fail_in(source, where + ".version", fmt::format("expected \"==<version>\", got \"{}\"", version));
  }
  std::string markers = string_at(source, entry, "markers", where);
  if (!markers.empty()) {
    auto marker = pep::Marker::parse(markers);
    if (!marker)
      fail_in(source, where + ".markers", fmt::format("invalid marker: {}", marker.error().message));
    p.marker = std::move(*marker);
  }
  if (auto hashes = entry.find("hashes"); hashes != entry.end()) {
    if (!hashes->is_array()) fail_in(source, where + ".hashes", "expected an array");
    for (const auto& h : *hashes) {
      if (!h.is_string()) fail_in(source, where + ".hashes", "expected strings");
      std::string text = h.get<std::string>();
      auto colon = text.find(':');
      std::string algo = colon == std::string::npos ? "" : util::to_lower(text.substr(0, colon));
      std::string hex = colon == std::string::npos ? "" : util::to_lower(text.substr(colon + 1));
      bool ok = !algo.empty() && !hex.empty() && std::all_of(hex.begin(), hex.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      });
      if (!ok || (algo == "sha256" && hex.size() != 64))
        fail_in(source, where + ".hashes", fmt::format("malformed hash \"{}\"", text));
      p.artifacts.push_back(hash_only_artifact(algo, hex));
    }
  }
  std::string index = string_at(source, entry, "index", where);
  if (!index.empty()) {
    auto it = std::find_if(lock.sources.begin(), lock.sources.end(),
                           [&](const Source& s) { return s.name == index; });
    if (it == lock.sources.end())
      fail_in(source, where + ".index",
              fmt::format("names the source \"{}\", which _meta.sources lacks", index));
    if (!is_pypi(it->url)) {
      p.source.name = it->name;
      p.source.url = it->url;
    }
  } else if (!lock.sources.empty() && !is_pypi(lock.sources.front().url)) {
    p.source.name = lock.sources.front().name;  // pipenv's first source is the default index
    p.source.url = lock.sources.front().url;
  }
  std::string git = string_at(source, entry, "git", where);
  std::string path = string_at(source, entry, "path", where);
  std::string file = string_at(source, entry, "file", where);
  if (!git.empty() + !path.empty() + !file.empty() > 1)
    fail_in(source, where, "names more than one of git, path and file");
  if (!git.empty()) {
    p.source = Source{};
    p.source.kind = SourceKind::vcs;
    p.source.vcs = "git";
    p.source.url = git.starts_with("git+") ? git.substr(4) : git;
    p.source.commit_id = string_at(source, entry, "ref", where);
    p.source.requested_revision = p.source.commit_id;
  } else if (!path.empty() || !file.empty()) {
    std::string target = path.empty() ? file : path;
    bool url = target.starts_with("http://") || target.starts_with("https://");
    if (target.starts_with("file://")) target = target.substr(7);
    bool archive = target.ends_with(".whl") || target.ends_with(".tar.gz") || target.ends_with(".zip");
    p.source = Source{};
    p.source.kind = url ? SourceKind::url : archive ? SourceKind::file : SourceKind::directory;
    (url ? p.source.url : p.source.path) = target;
    if (archive || url) {
      // The archive itself: its name from the path, its hash from "hashes" (when pipenv wrote one).
      std::string filename = target.substr(target.find_last_of('/') + 1);
      std::vector<Artifact> artifacts;
      for (auto a : p.artifacts) {
        a.filename = filename;
        a.kind = filename.ends_with(".whl") ? Artifact::Kind::wheel : Artifact::Kind::sdist;
        (url ? a.url : a.path) = target;
        artifacts.push_back(std::move(a));
      }
      p.artifacts = std::move(artifacts);
    }
  }
  p.source.subdirectory = string_at(source, entry, "subdirectory", where);
  if (auto editable = entry.find("editable"); editable != entry.end() && editable->is_boolean())
    p.source.editable = editable->get<bool>();
  return p;
}

Lock read(std::string_view text, std::string_view source) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    std::size_t offset = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    std::size_t line = 1 + static_cast<std::size_t>(
                               std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
    std::size_t start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
    std::size_t column = offset - (start == std::string_view::npos ? 0 : start + 1) + 1;
    throw CommandError(ErrorKind::usage,
                       fmt::format("{}:{}:{}: invalid JSON: {}", source, line, column, e.what()));
  }
  if (!doc.is_object()) fail_in(source, "the document", "expected a JSON object");
  auto meta = doc.find("_meta");
  if (meta == doc.end() || !meta->is_object()) fail_in(source, "_meta", "missing (is this a Pipfile.lock?)");
  Lock lock;
  lock.format = Format::pipfile;
  lock.source_name = std::string(source);
  lock.created_by = "pipenv";
  if (auto spec = meta->find("pipfile-spec"); spec != meta->end()) {
    if (!spec->is_number_integer()) fail_in(source, "_meta.pipfile-spec", "expected an integer");
    lock.lock_version = std::to_string(spec->get<long long>());
    if (spec->get<long long>() != 6)
      fail_in(source, "_meta.pipfile-spec",
              fmt::format("unsupported pipfile-spec {} (strata reads 6, as pipenv writes it since 2018)",
                          lock.lock_version));
  }
  if (auto hash = meta->find("hash"); hash != meta->end() && hash->is_object())
    lock.content_hash = string_at(source, *hash, "sha256", "_meta.hash");
  if (auto sources = meta->find("sources"); sources != meta->end()) {
    if (!sources->is_array()) fail_in(source, "_meta.sources", "expected an array");
    for (const auto& s : *sources) {
      if (!s.is_object()) fail_in(source, "_meta.sources", "expected objects");
      Source index;
      index.name = string_at(source, s, "name", "_meta.sources");
      index.url = string_at(source, s, "url", "_meta.sources");
      if (index.url.empty())
        fail_in(source, "_meta.sources", fmt::format("source \"{}\" has no url", index.name));
      lock.sources.push_back(std::move(index));
    }
  }
  lock.default_groups = {"default"};
  lock.groups.push_back(Group{"default", false, {}});
  for (const auto& [category, entries] : doc.items()) {
    if (category == "_meta") continue;
    if (!entries.is_object()) fail_in(source, category, "expected an object of packages");
    std::string group = group_of(category);
    if (std::none_of(lock.groups.begin(), lock.groups.end(), [&](const Group& g) { return g.name == group; }))
      lock.groups.push_back(Group{group, false, {}});
    for (const auto& [name, entry] : entries.items()) {
      Package p = read_entry(source, name, entry, fmt::format("{}.{}", category, name), lock);
      // One package in several categories is one package in several groups (with the marker of
      // the first; pipenv resolves every category against the default one).
      auto same = std::find_if(lock.packages.begin(), lock.packages.end(), [&](const Package& q) {
        return q.name == p.name && q.version_text == p.version_text && q.source.kind == p.source.kind;
      });
      if (same != lock.packages.end()) {
        same->groups.push_back(GroupMembership{group, p.marker});
        continue;
      }
      p.groups.push_back(GroupMembership{group, p.marker});
      lock.packages.push_back(std::move(p));
    }
  }
  return lock;
}

}  // namespace

bool looks_like_pipfile_lock(std::string_view text) {
  std::string_view t = util::trim(text);
  return t.starts_with("{") && t.find("\"_meta\"") != std::string_view::npos;
}

Result<Lock> read_pipfile_lock(std::string_view text, std::string_view source_name) {
  return detail::catch_errors([&] { return read(text, source_name); });
}

}  // namespace strata::lock
