#include "lock/manifest.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "lock/toml_read.hpp"
#include "pep/name.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace strata::lock {
namespace {

using detail::quote;
using detail::storable_url;
using detail::TomlFields;

void key(std::string& out, std::string_view name, std::string_view value) {
  out += fmt::format("{} = {}\n", name, quote(value));
}

void opt_key(std::string& out, std::string_view name, std::string_view value) {
  if (!value.empty()) key(out, name, value);
}

std::string relocate(std::string_view path, std::string_view prefix) {
  if (path.empty() || prefix.empty() || path.starts_with('/')) return std::string(path);
  return (std::filesystem::path(prefix) / std::filesystem::path(path)).lexically_normal().generic_string();
}

std::string source_name_of(const Lock& lock, const Package& p) {
  if (!p.source.name.empty()) return p.source.name;
  if (p.source.url.empty()) return {};
  for (const auto& s : lock.sources)
    if (!s.name.empty() && s.url == p.source.url) return s.name;
  return {};
}

void write_artifact(std::string& out, const Artifact& a, std::string_view prefix) {
  out += "\n[[packages.artifacts]]\n";
  opt_key(out, "name", a.filename);
  opt_key(out, "url", storable_url(a.url));
  opt_key(out, "path", relocate(a.path, prefix));
  std::vector<std::string> hashes;
  for (const auto& [algo, hex] : a.hashes) hashes.push_back(fmt::format("{} = {}", algo, quote(hex)));
  out += fmt::format("hashes = {{ {} }}\n", util::join(hashes, ", "));
  if (a.size) out += fmt::format("size = {}\n", *a.size);
}

void write_package(std::string& out, const Lock& lock, const Package& p, std::string_view prefix) {
  out += "\n[[packages]]\n";
  key(out, "name", p.name);
  opt_key(out, "version", p.version_text);
  opt_key(out, "requires-python", p.requires_python);
  const Source& s = p.source;
  if (s.kind == SourceKind::index) {
    opt_key(out, "index", storable_url(s.url));
    opt_key(out, "source", source_name_of(lock, p));
  } else {
    key(out, "kind", to_string(s.kind));
    opt_key(out, "url", storable_url(s.url));
    opt_key(out, "path", relocate(s.path, prefix));
    opt_key(out, "vcs", s.vcs);
    opt_key(out, "requested-revision", s.requested_revision);
    opt_key(out, "commit", s.commit_id);
    opt_key(out, "subdirectory", s.subdirectory);
    if (s.editable) out += "editable = true\n";
  }
  std::vector<const Artifact*> artifacts;
  for (const auto& a : p.artifacts) artifacts.push_back(&a);
  std::sort(artifacts.begin(), artifacts.end(), [](const Artifact* a, const Artifact* b) {
    return std::tie(a->filename, a->hashes, a->url, a->path) <
           std::tie(b->filename, b->hashes, b->url, b->path);
  });
  for (const Artifact* a : artifacts) write_artifact(out, *a, prefix);
}

// ---- reading ----

std::optional<SourceKind> kind_named(std::string_view name) {
  for (SourceKind k : {SourceKind::url, SourceKind::file, SourceKind::directory, SourceKind::vcs})
    if (name == to_string(k)) return k;
  return std::nullopt;
}

Artifact read_artifact(const TomlFields& f, const toml::table& t) {
  f.check_keys(t, {"name", "url", "path", "hashes", "size"}, "an artifact");
  Artifact a;
  a.filename = f.opt_string(t, "name").value_or("");
  a.kind = a.filename.ends_with(".whl") ? Artifact::Kind::wheel : Artifact::Kind::sdist;
  a.url = f.opt_string(t, "url").value_or("");
  a.path = f.opt_string(t, "path").value_or("");
  a.hashes = detail::read_hashes(f, t, "an artifact");
  if (auto size = f.opt_int(t, "size")) {
    if (*size < 0) f.fail_at(*t.get("size"), "expected a non-negative integer for \"size\"");
    a.size = static_cast<std::uint64_t>(*size);
  }
  return a;
}

Package read_package(const TomlFields& f, const toml::table& t) {
  f.check_keys(t,
               {"name", "version", "requires-python", "index", "source", "kind", "url", "path", "vcs",
                "requested-revision", "commit", "subdirectory", "editable", "artifacts"},
               "[[packages]]");
  Package p;
  detail::read_name_version(f, t, p);
  p.requires_python = f.opt_string(t, "requires-python").value_or("");
  if (auto kind = f.opt_string(t, "kind")) {
    auto k = kind_named(*kind);
    if (!k)
      f.fail_at(*t.get("kind"),
                fmt::format("unknown kind \"{}\" (expected url, file, directory or vcs)", *kind));
    p.source.kind = *k;
    for (std::string_view index_key : {"index", "source"})
      if (const toml::node* n = t.get(index_key))
        f.fail_at(*n, fmt::format("\"{}\" belongs to index packages, not kind \"{}\"", index_key, *kind));
  } else {
    for (std::string_view other :
         {"url", "path", "vcs", "requested-revision", "commit", "subdirectory", "editable"})
      if (const toml::node* n = t.get(other))
        f.fail_at(*n, fmt::format("\"{}\" needs a \"kind\" (url, file, directory or vcs)", other));
  }
  Source& s = p.source;
  if (s.kind == SourceKind::index) {
    s.url = f.opt_string(t, "index").value_or("");
    s.name = f.opt_string(t, "source").value_or("");
  } else {
    s.url = f.opt_string(t, "url").value_or("");
    s.path = f.opt_string(t, "path").value_or("");
    s.vcs = f.opt_string(t, "vcs").value_or("");
    s.requested_revision = f.opt_string(t, "requested-revision").value_or("");
    s.commit_id = f.opt_string(t, "commit").value_or("");
    s.subdirectory = f.opt_string(t, "subdirectory").value_or("");
    s.editable = f.opt_bool(t, "editable").value_or(false);
  }
  if (p.version_text.empty() && s.kind != SourceKind::vcs && s.kind != SourceKind::directory)
    f.fail_at(t, fmt::format("missing \"version\" for package \"{}\"", p.display_name));
  if (const toml::node* artifacts = t.get("artifacts")) {
    const toml::array* array = artifacts->as_array();
    if (!array) f.fail_at(*artifacts, "expected an array of tables for \"artifacts\"");
    for (const toml::node& node : *array)
      p.artifacts.push_back(read_artifact(f, f.as_table(node, "an artifact")));
  }
  return p;
}

Lock read(std::string_view text, std::string_view source_name) {
  auto parsed = detail::parse_toml(text, source_name);
  if (!parsed) throw CommandError(parsed.error());
  const toml::table& doc = *parsed;
  TomlFields f{std::string(source_name)};
  f.check_keys(doc, {"manifest-version", "project", "layer", "packages"}, "the manifest");
  auto version = f.opt_int(doc, "manifest-version");
  if (!version) f.fail_at(doc, "missing \"manifest-version\" in the manifest");
  if (*version != kManifestVersion)
    f.fail_at(*doc.get("manifest-version"),
              fmt::format("unsupported manifest-version {} (strata reads {})", *version, kManifestVersion));
  Lock lock;
  lock.format = Format::manifest;
  lock.source_name = std::string(source_name);
  lock.lock_version = std::to_string(*version);
  lock.created_by = "strata plan";
  lock.layer = f.req_string(doc, "layer", "the manifest");
  if (lock.layer.empty()) f.fail_at(*doc.get("layer"), "empty \"layer\"");
  // Optional: manifests of strata before owners by project name a layer alone.
  if (auto project = f.opt_string(doc, "project")) {
    if (project->empty()) f.fail_at(*doc.get("project"), "empty \"project\"");
    lock.layer_project = *project;
  }
  std::set<std::string> seen;
  if (const toml::node* packages = doc.get("packages")) {
    const toml::array* array = packages->as_array();
    if (!array) f.fail_at(*packages, "expected an array of tables for \"packages\"");
    for (const toml::node& node : *array) {
      Package p = read_package(f, f.as_table(node, "an entry of \"packages\""));
      if (!seen.insert(p.name).second)
        f.fail_at(node, fmt::format("package \"{}\" appears twice in the manifest", p.name));
      if (p.source.kind == SourceKind::index && !p.source.name.empty()) {
        bool known = false;
        for (const auto& s : lock.sources) known = known || s.name == p.source.name;
        if (!known) {
          Source source;
          source.name = p.source.name;
          source.url = p.source.url;
          lock.sources.push_back(std::move(source));
        }
      }
      lock.packages.push_back(std::move(p));
    }
  }
  return lock;
}

}  // namespace

std::string write_manifest(const Lock& lock, std::string_view project, std::string_view layer,
                           const std::vector<const Package*>& packages, std::string_view path_prefix) {
  std::vector<const Package*> sorted = packages;
  std::sort(sorted.begin(), sorted.end(), [](const Package* a, const Package* b) {
    if (a->name != b->name) return a->name < b->name;
    if (auto c = a->version <=> b->version; c != 0) return c < 0;
    return a->version_text < b->version_text;
  });
  std::string out =
      "# strata layer manifest; install with: strata install --layer <this file> --env <venv>\n";
  out += fmt::format("manifest-version = {}\n", kManifestVersion);
  opt_key(out, "project", project);
  key(out, "layer", layer);
  for (const Package* p : sorted) write_package(out, lock, *p, path_prefix);
  return out;
}

Result<Lock> load_manifest(std::string_view text, std::string_view source_name) {
  return detail::catch_errors([&] { return read(text, source_name); });
}

bool looks_like_manifest(std::string_view text) {
  for (std::string_view line : util::split(text, '\n')) {
    line = util::trim(line);
    if (line.starts_with("manifest-version")) return true;
    if (line.starts_with("[")) return false;
  }
  return false;
}

}  // namespace strata::lock
