#include "lock/pylock.hpp"

#include <fmt/format.h>

#include "lock/toml_read.hpp"
#include "pep/name.hpp"
#include "pep/specifier.hpp"
#include "util/strings.hpp"

namespace strata::lock {
namespace {

using detail::TomlFields;

pep::Marker parse_marker(const TomlFields& f, const toml::table& table, std::string_view key) {
  const toml::node* node = table.get(key);
  const std::string& text = f.as_string(*node, fmt::format("\"{}\"", key));
  auto marker = pep::Marker::parse(text);
  if (!marker) f.fail_at(*node, fmt::format("invalid marker for \"{}\": {}", key, marker.error().message));
  return std::move(*marker);
}

std::string last_segment(std::string_view url_or_path) {
  std::string_view s = url_or_path;
  if (auto q = s.find_first_of("?#"); q != std::string_view::npos) s = s.substr(0, q);
  if (auto slash = s.find_last_of("/\\"); slash != std::string_view::npos) s = s.substr(slash + 1);
  return std::string(s);
}

std::optional<std::uint64_t> read_size(const TomlFields& f, const toml::table& table) {
  auto size = f.opt_int(table, "size");
  if (!size) return std::nullopt;
  if (*size < 0) f.fail_at(*table.get("size"), "expected a non-negative integer for \"size\"");
  return static_cast<std::uint64_t>(*size);
}

// A wheel, sdist or archive table: name/url/path/size/hashes.
Artifact read_artifact(const TomlFields& f, const toml::table& table, Artifact::Kind kind,
                       std::string_view what) {
  Artifact a;
  a.kind = kind;
  a.url = f.opt_string(table, "url").value_or("");
  a.path = f.opt_string(table, "path").value_or("");
  if (a.url.empty() && a.path.empty()) f.fail_at(table, fmt::format("{} needs \"url\" or \"path\"", what));
  a.filename = f.opt_string(table, "name").value_or("");
  if (a.filename.empty()) a.filename = last_segment(a.url.empty() ? a.path : a.url);
  a.size = read_size(f, table);
  a.hashes = detail::read_hashes(f, table, what);
  (void)f.opt_string(table, "subdirectory");
  return a;
}

Package read_package(const TomlFields& f, const toml::table& table) {
  Package p;
  detail::read_name_version(f, table, p);
  if (table.get("marker")) p.marker = parse_marker(f, table, "marker");
  if (auto rp = f.opt_string(table, "requires-python")) {
    if (!pep::SpecifierSet::parse(*rp))
      f.fail_at(*table.get("requires-python"), fmt::format("invalid requires-python \"{}\"", *rp));
    p.requires_python = *rp;
  }
  if (const toml::array* deps = f.opt_array(table, "dependencies")) {
    for (const toml::node& node : *deps) {
      const toml::table& dep = f.as_table(node, "an entry of \"dependencies\"");
      Dependency d;
      if (auto name = f.opt_string(dep, "name")) {
        d.display_name = *name;
        d.name = pep::normalize_name(*name);
      }
      if (auto version = f.opt_string(dep, "version")) d.constraint = "==" + *version;
      p.dependencies.push_back(std::move(d));
    }
  }
  (void)f.opt_array(table, "attestation-identities");

  const toml::node* vcs = table.get("vcs");
  const toml::node* directory = table.get("directory");
  const toml::node* archive = table.get("archive");
  const toml::node* sdist = table.get("sdist");
  const toml::node* wheels = table.get("wheels");
  int kinds = (vcs ? 1 : 0) + (directory ? 1 : 0) + (archive ? 1 : 0) + ((sdist || wheels) ? 1 : 0);
  if (kinds > 1)
    f.fail_at(table, fmt::format("package \"{}\" has more than one of vcs, directory, archive and "
                                 "sdist/wheels",
                                 p.display_name));
  if (kinds == 0)
    f.fail_at(table, fmt::format("package \"{}\" needs one of vcs, directory, archive, sdist or wheels",
                                 p.display_name));

  if (auto index = f.opt_string(table, "index")) p.source.url = *index;
  if (vcs) {
    const toml::table& t = f.as_table(*vcs, "\"vcs\"");
    p.source.kind = SourceKind::vcs;
    p.source.vcs = f.req_string(t, "type", "\"vcs\"");
    p.source.url = f.opt_string(t, "url").value_or("");
    p.source.path = f.opt_string(t, "path").value_or("");
    if (p.source.url.empty() && p.source.path.empty()) f.fail_at(t, "\"vcs\" needs \"url\" or \"path\"");
    p.source.requested_revision = f.opt_string(t, "requested-revision").value_or("");
    p.source.commit_id = f.req_string(t, "commit-id", "\"vcs\"");
    p.source.subdirectory = f.opt_string(t, "subdirectory").value_or("");
  } else if (directory) {
    const toml::table& t = f.as_table(*directory, "\"directory\"");
    p.source.kind = SourceKind::directory;
    p.source.path = f.req_string(t, "path", "\"directory\"");
    p.source.editable = f.opt_bool(t, "editable").value_or(false);
    p.source.subdirectory = f.opt_string(t, "subdirectory").value_or("");
  } else if (archive) {
    const toml::table& t = f.as_table(*archive, "\"archive\"");
    Artifact a = read_artifact(f, t, Artifact::Kind::sdist, "\"archive\"");
    if (a.filename.ends_with(".whl")) a.kind = Artifact::Kind::wheel;
    p.source.kind = a.url.empty() ? SourceKind::file : SourceKind::url;
    p.source.url = a.url;
    p.source.path = a.path;
    p.source.subdirectory = f.opt_string(t, "subdirectory").value_or("");
    p.artifacts.push_back(std::move(a));
  } else {
    if (sdist) {
      p.artifacts.push_back(
          read_artifact(f, f.as_table(*sdist, "\"sdist\""), Artifact::Kind::sdist, "\"sdist\""));
    }
    if (wheels) {
      const toml::array* array = wheels->as_array();
      if (!array) f.fail_at(*wheels, "expected an array of tables for \"wheels\"");
      for (const toml::node& node : *array) {
        Artifact a = read_artifact(f, f.as_table(node, "a wheel"), Artifact::Kind::wheel, "a wheel");
        if (!a.filename.ends_with(".whl"))
          f.fail_at(node, fmt::format("wheel file name \"{}\" does not end in .whl", a.filename));
        p.artifacts.push_back(std::move(a));
      }
    }
  }
  if (p.version_text.empty() && p.source.kind != SourceKind::vcs && p.source.kind != SourceKind::directory) {
    // PEP 751 only allows leaving out the version for source trees; an index or archive entry
    // without one cannot be checked against what it installs.
    f.fail_at(table, fmt::format("missing \"version\" for package \"{}\"", p.display_name));
  }
  return p;
}

Lock read(std::string_view text, std::string_view source_name) {
  auto parsed = detail::parse_toml(text, source_name);
  if (!parsed) throw CommandError(parsed.error());
  const toml::table& doc = *parsed;
  TomlFields f{std::string(source_name)};

  Lock lock;
  lock.format = Format::pylock;
  lock.source_name = std::string(source_name);
  lock.lock_version = f.req_string(doc, "lock-version", "the lock");
  auto dot = lock.lock_version.find('.');
  auto major = util::parse_uint(std::string_view(lock.lock_version).substr(0, dot));
  if (!major || (dot != std::string::npos && !util::parse_uint(lock.lock_version.substr(dot + 1))))
    f.fail_at(*doc.get("lock-version"), fmt::format("invalid lock-version \"{}\"", lock.lock_version));
  if (*major != 1)
    f.fail_at(*doc.get("lock-version"),
              fmt::format("unsupported lock-version \"{}\" (strata reads 1.x)", lock.lock_version));
  lock.created_by = f.req_string(doc, "created-by", "the lock");
  if (auto rp = f.opt_string(doc, "requires-python")) {
    if (!pep::SpecifierSet::parse(*rp))
      f.fail_at(*doc.get("requires-python"), fmt::format("invalid requires-python \"{}\"", *rp));
    lock.requires_python = *rp;
  }
  if (const toml::array* envs = f.opt_array(doc, "environments")) {
    for (const toml::node& node : *envs) {
      const std::string& text_marker = f.as_string(node, "an entry of \"environments\"");
      auto marker = pep::Marker::parse(text_marker);
      if (!marker)
        f.fail_at(node, fmt::format("invalid marker in \"environments\": {}", marker.error().message));
      lock.environments.push_back(std::move(*marker));
    }
  }
  for (const auto& extra : f.string_array(doc, "extras")) lock.extras.push_back(pep::normalize_name(extra));
  for (const auto& group : f.string_array(doc, "dependency-groups"))
    lock.groups.push_back(Group{pep::normalize_name(group), false, {}});
  for (const auto& group : f.string_array(doc, "default-groups")) {
    std::string name = pep::normalize_name(group);
    lock.default_groups.push_back(name);
    bool known = false;
    for (const auto& g : lock.groups) known = known || g.name == name;
    if (!known) lock.groups.push_back(Group{name, false, {}});
  }
  const toml::node* packages = doc.get("packages");
  if (!packages) f.fail_at(doc, "missing \"packages\" in the lock");
  const toml::array* array = packages->as_array();
  if (!array) f.fail_at(*packages, "expected an array of tables for \"packages\"");
  for (const toml::node& node : *array) {
    lock.packages.push_back(read_package(f, f.as_table(node, "an entry of \"packages\"")));
    const Package& p = lock.packages.back();
    if (!p.source.url.empty() && p.source.kind == SourceKind::index) {
      bool seen = false;
      for (const auto& s : lock.sources) seen = seen || s.url == p.source.url;
      if (!seen) lock.sources.push_back(p.source);
    }
  }
  return lock;
}

}  // namespace

Result<Lock> read_pylock(std::string_view text, std::string_view source_name) {
  return detail::catch_errors([&] { return read(text, source_name); });
}

}  // namespace strata::lock
