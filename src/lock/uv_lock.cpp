#include "lock/uv_lock.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "lock/toml_read.hpp"
#include "pep/name.hpp"
#include "pep/specifier.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace strata::lock {
namespace {

using detail::TomlFields;

constexpr std::int64_t kLockVersion = 1;
constexpr std::string_view kPypi = "https://pypi.org/simple";

pep::Marker read_marker(const TomlFields& f, const toml::node& node, std::string_view what) {
  const std::string& text = f.as_string(node, what);
  auto marker = pep::Marker::parse(text);
  if (!marker) f.fail_at(node, fmt::format("invalid marker in {}: {}", what, marker.error().message));
  return std::move(*marker);
}

std::vector<pep::Marker> read_markers(const TomlFields& f, const toml::table& table, std::string_view key) {
  std::vector<pep::Marker> out;
  if (const toml::array* array = f.opt_array(table, key)) {
    for (const toml::node& node : *array) out.push_back(read_marker(f, node, fmt::format("\"{}\"", key)));
  }
  return out;
}

std::string valid_name(const TomlFields& f, const toml::node& node, std::string_view what) {
  const std::string& name = f.as_string(node, what);
  if (!pep::is_valid_name(name)) f.fail_at(node, fmt::format("invalid name \"{}\" in {}", name, what));
  return pep::normalize_name(name);
}

std::string strip_query(std::string_view url) { return std::string(url.substr(0, url.find_first_of("?#"))); }

std::string last_segment(std::string_view url_or_path) {
  std::string_view s = url_or_path.substr(0, url_or_path.find_first_of("?#"));
  if (auto slash = s.find_last_of("/\\"); slash != std::string_view::npos) s = s.substr(slash + 1);
  return std::string(s);
}

// The value of `key=` in a URL query ("" when absent).
std::string query_value(std::string_view url, std::string_view key) {
  auto q = url.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = url.substr(
      q + 1, url.find('#') == std::string_view::npos ? std::string_view::npos : url.find('#') - q - 1);
  for (std::string_view pair : util::split(query, '&')) {
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return eq == std::string_view::npos ? "" : util::percent_decode(pair.substr(eq + 1));
  }
  return "";
}

std::string join_path(std::string_view base, std::string_view path) {
  if (base.empty() || base == "." || path.starts_with('/')) return std::string(path);
  return fmt::format("{}/{}", base, path);
}

// A `source = { ... }` table: exactly one of the kinds uv writes. `key` is the comparable form
// dependency edges use to name one of several locked packages of the same name.
struct ReadSource {
  Source source;
  std::string key;
  bool is_virtual = false;
  std::string registry_path;  ///< a registry that is a local directory (`--find-links`)
};

ReadSource read_source(const TomlFields& f, const toml::table& table) {
  static constexpr std::string_view kKinds[] = {"registry",  "git",      "url",    "path",
                                                "directory", "editable", "virtual"};
  ReadSource out;
  std::string kind;
  for (std::string_view k : kKinds) {
    if (!table.get(k)) continue;
    if (!kind.empty())
      f.fail_at(table, fmt::format("source has both \"{}\" and \"{}\"; expected one kind", kind, k));
    kind = std::string(k);
  }
  if (kind.empty())
    f.fail_at(table,
              "source names no kind (expected one of registry, git, url, path, directory, editable, "
              "virtual)");
  f.check_keys(table, {"registry", "git", "url", "path", "directory", "editable", "virtual", "subdirectory"},
               "a package source");
  const std::string value = f.req_string(table, kind, "a package source");
  std::string subdirectory = f.opt_string(table, "subdirectory").value_or("");
  out.key = fmt::format("{}={}", kind, value);
  if (!subdirectory.empty()) out.key += ";subdirectory=" + subdirectory;
  Source& s = out.source;
  if (kind == "registry") {
    s.kind = SourceKind::index;
    if (value.find("://") != std::string::npos) {
      std::string url = value;
      while (url.ends_with('/')) url.pop_back();
      if (url != kPypi) s.url = value;
    } else {
      s.path = value;
      out.registry_path = value;
    }
  } else if (kind == "git") {
    s.kind = SourceKind::vcs;
    s.vcs = "git";
    s.url = strip_query(value);
    auto hash = value.find('#');
    if (hash == std::string::npos)
      f.fail_at(*table.get("git"), fmt::format("git source \"{}\" has no \"#<commit>\"", value));
    s.commit_id = value.substr(hash + 1);
    bool hex = std::all_of(s.commit_id.begin(), s.commit_id.end(),
                           [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
    if (!hex || (s.commit_id.size() != 40 && s.commit_id.size() != 64))
      f.fail_at(*table.get("git"),
                fmt::format("git source \"{}\": \"{}\" is not a full commit hash", value, s.commit_id));
    for (std::string_view ref : {"tag", "branch", "rev"}) {
      if (auto v = query_value(value.substr(0, hash), ref); !v.empty()) s.requested_revision = v;
    }
    if (auto rev = query_value(value.substr(0, hash), "rev");
        rev.size() == s.commit_id.size() && !util::iequals(rev, s.commit_id) &&
        std::all_of(rev.begin(), rev.end(),
                    [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
      f.fail_at(*table.get("git"), fmt::format("git source \"{}\" asks for commit {} but is locked at {}",
                                               value, rev, s.commit_id));
    s.subdirectory = query_value(value.substr(0, hash), "subdirectory");
  } else if (kind == "url") {
    s.kind = SourceKind::url;
    s.url = value;
    s.subdirectory = subdirectory;
  } else if (kind == "path") {
    s.kind = SourceKind::file;
    s.path = value;
  } else {
    s.kind = SourceKind::directory;
    s.path = value;
    s.editable = kind == "editable";
    out.is_virtual = kind == "virtual";
  }
  return out;
}

std::optional<std::uint64_t> read_size(const TomlFields& f, const toml::table& table) {
  auto size = f.opt_int(table, "size");
  if (!size) return std::nullopt;
  if (*size < 0) f.fail_at(*table.get("size"), "expected a non-negative integer for \"size\"");
  return static_cast<std::uint64_t>(*size);
}

// uv writes one hash as "algorithm:hex".
void read_hash(const TomlFields& f, const toml::table& table, Artifact& a) {
  const toml::node* node = table.get("hash");
  if (!node) return;
  const std::string& text = f.as_string(*node, "\"hash\"");
  auto colon = text.find(':');
  if (colon == std::string::npos)
    f.fail_at(*node, fmt::format("malformed hash \"{}\" (expected \"<algorithm>:<hex digest>\")", text));
  std::string algo = util::to_lower(text.substr(0, colon));
  std::string hex = text.substr(colon + 1);
  detail::check_hash(f, *node, algo, hex);
  a.hashes.emplace(algo, util::to_lower(hex));
}

Artifact read_artifact(const TomlFields& f, const toml::table& table, Artifact::Kind kind,
                       const ReadSource& source, std::string_view what) {
  // Later revisions add keys (upload-time in 2, zstd later); uv's reader ignores what it does not
  // know, and so does this one.
  Artifact a;
  a.kind = kind;
  a.url = f.opt_string(table, "url").value_or("");
  if (auto path = f.opt_string(table, "path")) a.path = join_path(source.registry_path, *path);
  a.filename = f.opt_string(table, "filename").value_or("");
  if (a.filename.empty() && !a.url.empty()) a.filename = util::percent_decode(last_segment(a.url));
  if (a.filename.empty() && !a.path.empty()) a.filename = last_segment(a.path);
  // A path or URL source's files are the archive itself (uv writes only its hash there).
  if (a.url.empty() && a.path.empty() && source.source.kind == SourceKind::file) {
    a.path = source.source.path;
    if (a.filename.empty()) a.filename = last_segment(a.path);
  }
  if (a.url.empty() && a.path.empty() && source.source.kind == SourceKind::url) {
    a.url = source.source.url;
    if (a.filename.empty()) a.filename = util::percent_decode(last_segment(a.url));
  }
  if (kind == Artifact::Kind::wheel && a.filename.empty())
    f.fail_at(table, fmt::format("{} has no url, path or filename", what));
  if (kind == Artifact::Kind::wheel && !a.filename.ends_with(".whl"))
    f.fail_at(table, fmt::format("wheel file name \"{}\" does not end in .whl", a.filename));
  a.size = read_size(f, table);
  read_hash(f, table, a);
  return a;
}

// What a dependency edge and a manifest requirement share: the name first, then (after what is
// their own) the extras, under `extras_key`, and the marker.
Dependency read_name(const TomlFields& f, const toml::table& t, std::string_view what) {
  const toml::node* name = t.get("name");
  if (!name) f.fail_at(t, fmt::format("missing \"name\" in {}", what));
  Dependency d;
  d.display_name = f.as_string(*name, "\"name\"");
  d.name = valid_name(f, *name, what);
  return d;
}

void read_extras_and_marker(const TomlFields& f, const toml::table& t, std::string_view extras_key,
                            Dependency& d) {
  if (const toml::array* extras = f.opt_array(t, extras_key)) {
    const std::string label = fmt::format("\"{}\"", extras_key);
    for (const toml::node& e : *extras) d.extras.push_back(valid_name(f, e, label));
  }
  if (const toml::node* marker = t.get("marker")) d.marker = read_marker(f, *marker, "\"marker\"");
}

Dependency read_dependency(const TomlFields& f, const toml::node& node, std::string_view what) {
  const toml::table& t = f.as_table(node, what);
  Dependency d = read_name(f, t, what);
  if (auto version = f.opt_string(t, "version")) {
    if (!pep::Version::parse(*version))
      f.fail_at(*t.get("version"), fmt::format("invalid version \"{}\" in {}", *version, what));
    d.locked_version = *version;
    d.constraint = "==" + *version;
  }
  if (const toml::table* source = f.opt_table(t, "source")) d.source_key = read_source(f, *source).key;
  read_extras_and_marker(f, t, "extra", d);
  return d;
}

std::vector<Dependency> read_dependencies(const TomlFields& f, const toml::node& node,
                                          std::string_view what) {
  const toml::array* array = node.as_array();
  if (!array) f.fail_at(node, fmt::format("expected an array for {}", what));
  std::vector<Dependency> out;
  for (const toml::node& entry : *array)
    out.push_back(read_dependency(f, entry, fmt::format("an entry of {}", what)));
  return out;
}

std::map<std::string, std::vector<Dependency>> read_dependency_map(const TomlFields& f,
                                                                   const toml::table& table,
                                                                   std::string_view key) {
  std::map<std::string, std::vector<Dependency>> out;
  const toml::table* map = f.opt_table(table, key);
  if (!map) return out;
  for (const auto& [name, value] : *map) {
    if (!pep::is_valid_name(name.str()))
      f.fail_at(value, fmt::format("invalid name \"{}\" in \"{}\"", name.str(), key));
    out[pep::normalize_name(name.str())] =
        read_dependencies(f, value, fmt::format("\"{}.{}\"", key, name.str()));
  }
  return out;
}

// A manifest requirement ({ name, specifier, marker, extras, ... } as uv serializes a PEP 508
// requirement with its source).
Dependency read_requirement(const TomlFields& f, const toml::node& node, std::string_view what) {
  const toml::table& t = f.as_table(node, what);
  Dependency d = read_name(f, t, what);
  d.constraint = f.opt_string(t, "specifier").value_or("");
  read_extras_and_marker(f, t, "extras", d);
  return d;
}

Package read_package(const TomlFields& f, const toml::table& table) {
  Package p;
  p.location = f.where(table);
  if (!table.get("name")) f.fail_at(table, "missing \"name\" in a [[package]] entry");
  detail::read_name_version(f, table, p);
  const toml::table* source_table = f.opt_table(table, "source");
  if (!source_table) f.fail_at(table, fmt::format("missing \"source\" for package \"{}\"", p.display_name));
  ReadSource source = read_source(f, *source_table);
  p.source = source.source;
  p.source_key = source.key;
  p.virtual_source = source.is_virtual;
  if (p.version_text.empty() && p.source.kind == SourceKind::index)
    f.fail_at(table, fmt::format("missing \"version\" for registry package \"{}\"", p.display_name));
  if (const toml::node* sdist = table.get("sdist"))
    p.artifacts.push_back(
        read_artifact(f, f.as_table(*sdist, "\"sdist\""), Artifact::Kind::sdist, source, "\"sdist\""));
  if (const toml::node* wheels = table.get("wheels")) {
    const toml::array* array = wheels->as_array();
    if (!array) f.fail_at(*wheels, "expected an array of tables for \"wheels\"");
    for (const toml::node& node : *array)
      p.artifacts.push_back(
          read_artifact(f, f.as_table(node, "a wheel"), Artifact::Kind::wheel, source, "a wheel"));
  }
  p.resolution_markers = read_markers(f, table, "resolution-markers");
  if (const toml::node* deps = table.get("dependencies"))
    p.dependencies = read_dependencies(f, *deps, "\"dependencies\"");
  p.optional_dependencies = read_dependency_map(f, table, "optional-dependencies");
  for (const auto& [extra, deps] : p.optional_dependencies) {
    auto& names = p.extras[extra];
    for (const auto& d : deps) names.push_back(d.name);
  }
  p.group_dependencies = read_dependency_map(f, table, "dev-dependencies");
  for (auto& [group, deps] : read_dependency_map(f, table, "dependency-groups"))
    p.group_dependencies[group] = deps;
  return p;
}

std::vector<std::vector<ConflictItem>> read_conflicts(const TomlFields& f, const toml::table& doc) {
  std::vector<std::vector<ConflictItem>> out;
  const toml::array* sets = f.opt_array(doc, "conflicts");
  if (!sets) return out;
  for (const toml::node& set_node : *sets) {
    const toml::array* set = set_node.as_array();
    if (!set) f.fail_at(set_node, "expected an array of tables for an entry of \"conflicts\"");
    auto& items = out.emplace_back();
    for (const toml::node& node : *set) {
      const toml::table& t = f.as_table(node, "a conflict item");
      f.check_keys(t, {"package", "extra", "group"}, "a conflict item");
      ConflictItem item;
      const toml::node* package = t.get("package");
      if (!package) f.fail_at(t, "missing \"package\" in a conflict item");
      item.package = valid_name(f, *package, "a conflict item");
      if (const toml::node* extra = t.get("extra")) item.extra = valid_name(f, *extra, "a conflict item");
      if (const toml::node* group = t.get("group")) item.group = valid_name(f, *group, "a conflict item");
      if (!item.extra.empty() && !item.group.empty())
        f.fail_at(t, "a conflict item names both an extra and a group");
      items.push_back(std::move(item));
    }
  }
  return out;
}

void read_manifest(const TomlFields& f, const toml::table& doc, Lock& lock) {
  const toml::table* manifest = f.opt_table(doc, "manifest");
  if (!manifest) return;
  if (const toml::array* members = f.opt_array(*manifest, "members")) {
    for (const toml::node& m : *members) lock.members.push_back(valid_name(f, m, "\"manifest.members\""));
  }
  if (const toml::array* requirements = f.opt_array(*manifest, "requirements")) {
    for (const toml::node& r : *requirements)
      lock.manifest_requirements.push_back(read_requirement(f, r, "an entry of \"manifest.requirements\""));
  }
  if (const toml::array* constraints = f.opt_array(*manifest, "build-constraints")) {
    for (const toml::node& c : *constraints) {
      Dependency d = read_requirement(f, c, "an entry of \"manifest.build-constraints\"");
      if (!pep::SpecifierSet::parse(d.constraint))
        f.fail_at(c, fmt::format("invalid specifier \"{}\" in an entry of \"manifest.build-constraints\"",
                                 d.constraint));
      lock.build_constraints.push_back(std::move(d));
    }
  }
  if (const toml::table* groups = f.opt_table(*manifest, "dependency-groups")) {
    for (const auto& [name, value] : *groups) {
      const toml::array* array = value.as_array();
      if (!array) f.fail_at(value, "expected an array for a group of \"manifest.dependency-groups\"");
      if (!pep::is_valid_name(name.str()))
        f.fail_at(value,
                  fmt::format("invalid group name \"{}\" in \"manifest.dependency-groups\"", name.str()));
      auto& roots = lock.manifest_groups[pep::normalize_name(name.str())];
      for (const toml::node& r : *array)
        roots.push_back(read_requirement(f, r, "an entry of \"manifest.dependency-groups\""));
    }
  }
}

bool is_root_source(const Package& p) {
  return p.source.kind == SourceKind::directory && (p.source.editable || p.virtual_source) &&
         (p.source.path.empty() || p.source.path == ".");
}

void add_known(std::vector<std::string>& known, const std::string& name) {
  if (std::find(known.begin(), known.end(), name) == known.end()) known.push_back(name);
}

Lock read(std::string_view text, std::string_view source_name) {
  auto parsed = detail::parse_toml(text, source_name);
  if (!parsed) throw CommandError(parsed.error());
  const toml::table& doc = *parsed;
  TomlFields f{std::string(source_name)};

  Lock lock;
  lock.format = Format::uv;
  lock.source_name = std::string(source_name);
  const toml::node* version = doc.get("version");
  if (!version) f.fail_at(doc, "missing \"version\" in the lock (not a uv.lock?)");
  auto v = f.opt_int(doc, "version");
  if (*v != kLockVersion)
    f.fail_at(*version, fmt::format("unsupported uv.lock version {} (strata reads version {}; a newer "
                                    "uv wrote this lock)",
                                    *v, kLockVersion));
  auto revision = f.opt_int(doc, "revision").value_or(0);
  if (revision < 0) f.fail_at(*doc.get("revision"), "expected a non-negative integer for \"revision\"");
  lock.lock_version = fmt::format("{}", *v);
  lock.created_by = fmt::format("uv (lock revision {})", revision);
  lock.requires_python = f.req_string(doc, "requires-python", "the lock");
  if (!pep::SpecifierSet::parse(lock.requires_python))
    f.fail_at(*doc.get("requires-python"),
              fmt::format("invalid requires-python \"{}\"", lock.requires_python));
  (void)read_markers(f, doc, "resolution-markers");
  lock.environments = read_markers(f, doc, "supported-markers");
  (void)read_markers(f, doc, "required-markers");
  lock.conflicts = read_conflicts(f, doc);
  read_manifest(f, doc, lock);

  const toml::node* packages = doc.get("package");
  if (!packages) packages = doc.get("distribution");  // the name before uv 0.3
  if (packages) {
    const toml::array* array = packages->as_array();
    if (!array) f.fail_at(*packages, "expected an array of tables for \"package\"");
    for (const toml::node& node : *array)
      lock.packages.push_back(read_package(f, f.as_table(node, "a [[package]] entry")));
  }
  // Dependencies name a package by name alone unless the name is locked more than once.
  std::map<std::string, int> count;
  for (const auto& p : lock.packages) ++count[p.name];
  auto check = [&](const Dependency& d, const Package& from) {
    auto it = count.find(d.name);
    if (it == count.end())
      throw CommandError(ErrorKind::usage,
                         fmt::format("{}: package \"{}\" depends on \"{}\", which is not in the lock",
                                     from.location, from.display_name, d.display_name));
    if (it->second > 1 && d.locked_version.empty() && d.source_key.empty())
      throw CommandError(
          ErrorKind::usage,
          fmt::format("{}: package \"{}\" depends on \"{}\" without a version or source, but the "
                      "lock has {} entries of that name",
                      from.location, from.display_name, d.display_name, it->second));
  };
  for (const auto& p : lock.packages) {
    for (const auto& d : p.dependencies) check(d, p);
    for (const auto& [extra, deps] : p.optional_dependencies)
      for (const auto& d : deps) check(d, p);
    for (const auto& [group, deps] : p.group_dependencies)
      for (const auto& d : deps) check(d, p);
    if (is_root_source(p)) lock.project_name = p.name;
    if (!p.source.url.empty() && p.source.kind == SourceKind::index) {
      bool seen = false;
      for (const auto& s : lock.sources) seen = seen || s.url == p.source.url;
      if (!seen) lock.sources.push_back(p.source);
    }
  }
  // Extras and groups the lock knows: those of the workspace members (what `uv sync` accepts),
  // and "main" for the members' own dependencies (the default; `--only dev` is uv's
  // `--only-group dev`).
  lock.groups.push_back(Group{"main", false, {}});
  lock.default_groups = {"main"};
  std::vector<std::string> members = lock.members;
  if (!lock.project_name.empty()) add_known(members, lock.project_name);
  for (const auto& p : lock.packages) {
    if (std::find(members.begin(), members.end(), p.name) == members.end()) continue;
    for (const auto& [extra, deps] : p.optional_dependencies) add_known(lock.extras, extra);
    for (const auto& [group, deps] : p.group_dependencies) {
      bool known = false;
      for (const auto& g : lock.groups) known = known || g.name == group;
      if (!known) lock.groups.push_back(Group{group, true, {}});
    }
  }
  for (const auto& [group, roots] : lock.manifest_groups) {
    bool known = false;
    for (const auto& g : lock.groups) known = known || g.name == group;
    if (!known) lock.groups.push_back(Group{group, true, {}});
  }
  return lock;
}

// ---- selection ----

std::string encode(std::string_view kind, const std::string& package, const std::string& item = "") {
  if (item.empty()) return fmt::format("{}-{}-{}", kind, package.size(), package);
  return fmt::format("{}-{}-{}-{}", kind, package.size(), package, item);
}

std::string describe(const ConflictItem& item) {
  if (!item.extra.empty()) return fmt::format("extra \"{}\" of {}", item.extra, item.package);
  if (!item.group.empty()) return fmt::format("group \"{}\" of {}", item.group, item.package);
  return fmt::format("project {}", item.package);
}

class UvSelector {
 public:
  UvSelector(const Lock& lock, const UvTarget& target) : lock_(lock), target_(target) {
    for (std::size_t i = 0; i < lock.packages.size(); ++i) by_name_[lock.packages[i].name].push_back(i);
  }

  Result<Selection> run(Selection selection) {
    auto roots = find_roots();
    if (!roots) return std::unexpected(roots.error());
    roots_ = std::move(*roots);
    group_root_ = find_group_root();
    // Activated items: the roots themselves, their requested extras and groups; then every extra a
    // reachable edge asks for, until nothing new is activated (uv's first traversal).
    for (std::size_t r : roots_) {
      const Package& p = lock_.packages[r];
      if (production()) {
        activated_.insert(encode("project", p.name));
        for (const auto& extra : target_.extras)
          if (p.optional_dependencies.contains(extra)) activated_.insert(encode("extra", p.name, extra));
      }
      for (const auto& group : target_.groups)
        if (p.group_dependencies.contains(group)) activated_.insert(encode("group", p.name, group));
    }
    if (group_root_)
      for (const auto& group : target_.groups)
        if (from_group_root(group))
          activated_.insert(encode("group", lock_.packages[*group_root_].name, group));
    for (int round = 0; round < 64; ++round) {
      auto before = activated_.size();
      auto walked = walk();
      if (!walked) return std::unexpected(walked.error());
      if (lock_.conflicts.empty() || activated_.size() == before) break;
    }
    if (auto ok = check_conflicts(); !ok) return std::unexpected(ok.error());

    std::set<std::string> member_names(lock_.members.begin(), lock_.members.end());
    if (!lock_.project_name.empty()) member_names.insert(lock_.project_name);
    for (std::size_t i = 0; i < lock_.packages.size(); ++i) {
      const Package& p = lock_.packages[i];
      bool reached = reached_.contains(i);
      if (member_names.contains(p.name) || is_root_source(p)) {
        selection.excluded.push_back(
            {p.name, p.version_text, "the project, installed by COPY of its source"});
      } else if (reached && p.virtual_source) {
        selection.excluded.push_back({p.name, p.version_text, "a virtual source: uv does not install it"});
      } else if (reached) {
        selection.packages.push_back(p);
      } else if (auto it = why_not_.find(i); it != why_not_.end()) {
        selection.excluded.push_back({p.name, p.version_text, it->second});
      } else {
        selection.excluded.push_back(
            {p.name, p.version_text, "not required by the selected members, groups and extras"});
      }
    }
    return selection;
  }

 private:
  // With `--package`, the workspace root project whose dependency groups stand in for the
  // members' (uv sync/export --package M --group G takes G from the workspace root when M does not
  // define G; uv 0.13.9), unless it is one of the roots already.
  std::optional<std::size_t> find_group_root() const {
    if (target_.packages.empty() || target_.all_packages || lock_.project_name.empty()) return std::nullopt;
    auto it = by_name_.find(lock_.project_name);
    if (it == by_name_.end()) return std::nullopt;
    for (std::size_t i : it->second) {
      if (!is_root_source(lock_.packages[i])) continue;
      if (std::find(roots_.begin(), roots_.end(), i) != roots_.end()) return std::nullopt;
      return i;
    }
    return std::nullopt;
  }

  // Whether requested group `group` comes from the workspace root: it has it, no root member does.
  bool from_group_root(const std::string& group) const {
    if (!group_root_ || !target_.groups.contains(group) ||
        !lock_.packages[*group_root_].group_dependencies.contains(group))
      return false;
    return std::none_of(roots_.begin(), roots_.end(),
                        [&](std::size_t r) { return lock_.packages[r].group_dependencies.contains(group); });
  }

  Result<std::vector<std::size_t>> find_roots() const {
    auto member_index = [&](const std::string& name) -> std::optional<std::size_t> {
      auto it = by_name_.find(name);
      if (it == by_name_.end()) return std::nullopt;
      for (std::size_t i : it->second) {
        const Package& p = lock_.packages[i];
        bool member = std::find(lock_.members.begin(), lock_.members.end(), p.name) != lock_.members.end();
        if (member || is_root_source(p)) return i;
      }
      return std::nullopt;
    };
    std::vector<std::string> names;
    if (target_.all_packages || (target_.packages.empty() && lock_.project_name.empty())) {
      names = lock_.members;
      if (names.empty() && !lock_.project_name.empty()) names.push_back(lock_.project_name);
    } else if (!target_.packages.empty()) {
      for (const auto& raw : target_.packages) names.push_back(pep::normalize_name(raw));
    } else {
      names.push_back(lock_.project_name);
    }
    std::vector<std::size_t> out;
    for (const auto& name : names) {
      auto index = member_index(name);
      if (!index) {
        std::vector<std::string> known = lock_.members;
        if (known.empty() && !lock_.project_name.empty()) known.push_back(lock_.project_name);
        return fail(ErrorKind::usage,
                    fmt::format("{}: \"{}\" is not a member of the workspace (members: {})",
                                lock_.source_name, name, known.empty() ? "none" : util::join(known, ", ")));
      }
      out.push_back(*index);
    }
    return out;
  }

  // The members' own dependencies (and extras) are selected: the "main" group.
  bool production() const { return target_.groups.contains("main"); }

  bool holds(const Dependency& d, std::string& why) const {
    if (!d.marker) return true;
    pep::MarkerContext context;
    context.environment = target_.environment;
    context.extra_set = &activated_;
    if (d.marker->evaluate(context)) return true;
    why = fmt::format("marker is false for the target: {}", d.marker->str());
    return false;
  }

  // The locked package an edge names: by name, or by name, version and source when the name is
  // locked more than once. Manifest requirements (no version) pick the fork whose
  // resolution-markers hold for the target.
  Result<std::size_t> resolve(const Dependency& d, const std::string& parent) const {
    auto it = by_name_.find(d.name);
    if (it == by_name_.end())
      return fail(ErrorKind::usage, fmt::format("{}: \"{}\" (required by {}) is not in the lock",
                                                lock_.source_name, d.display_name, parent));
    if (it->second.size() == 1) return it->second.front();
    std::vector<std::size_t> matches;
    for (std::size_t i : it->second) {
      const Package& p = lock_.packages[i];
      if (!d.locked_version.empty() && p.version_text != d.locked_version) continue;
      if (!d.source_key.empty() && p.source_key != d.source_key) continue;
      matches.push_back(i);
    }
    if (matches.size() > 1 && d.locked_version.empty() && d.source_key.empty()) {
      pep::MarkerContext context;
      context.environment = target_.environment;
      context.extra_set = &activated_;
      std::erase_if(matches, [&](std::size_t i) {
        const auto& forks = lock_.packages[i].resolution_markers;
        return !forks.empty() && std::none_of(forks.begin(), forks.end(),
                                              [&](const pep::Marker& m) { return m.evaluate(context); });
      });
    }
    if (matches.size() != 1)
      return fail(ErrorKind::usage,
                  fmt::format("{}: \"{}\"{} (required by {}) matches {} locked entries", lock_.source_name,
                              d.display_name, d.locked_version.empty() ? "" : " " + d.locked_version, parent,
                              matches.size()));
    return matches.front();
  }

  // One traversal with the activated items as they are; records reached packages and adds the
  // extras reachable edges activate.
  Result<void> walk() {
    reached_.clear();
    why_not_.clear();
    std::set<std::pair<std::size_t, std::string>> seen;  // (package, extra or "")
    std::deque<std::pair<std::size_t, std::string>> queue;
    auto follow = [&](const Dependency& d, const std::string& parent) -> Result<void> {
      auto index = resolve(d, parent);
      if (!index) return std::unexpected(index.error());
      std::string why;
      // An edge asking for extras activates them for its own marker (uv's newly_activated_extras).
      std::vector<std::string> added;
      for (const auto& e : d.extras)
        if (activated_.insert(encode("extra", d.name, e)).second) added.push_back(e);
      if (!holds(d, why)) {
        for (const auto& e : added) activated_.erase(encode("extra", d.name, e));
        why_not_.emplace(*index, fmt::format("{} (required by {})", why, parent));
        return {};
      }
      reached_.insert(*index);
      if (seen.emplace(*index, "").second) queue.emplace_back(*index, "");
      for (const auto& e : d.extras)
        if (seen.emplace(*index, e).second) queue.emplace_back(*index, e);
      return {};
    };
    for (std::size_t r : roots_) {
      const Package& p = lock_.packages[r];
      reached_.insert(r);
      if (production() && seen.emplace(r, "").second) queue.emplace_back(r, "");
      for (const auto& extra : target_.extras)
        if (production() && p.optional_dependencies.contains(extra) && seen.emplace(r, extra).second)
          queue.emplace_back(r, extra);
      for (const auto& [group, deps] : p.group_dependencies) {
        if (!target_.groups.contains(group)) continue;
        for (const auto& d : deps)
          if (auto ok = follow(d, fmt::format("group \"{}\" of {}", group, p.display_name)); !ok) return ok;
      }
    }
    if (group_root_) {
      // `--package`: the workspace root's dependency groups are selected too (not the root itself).
      const Package& p = lock_.packages[*group_root_];
      for (const auto& [group, deps] : p.group_dependencies) {
        if (!from_group_root(group)) continue;
        for (const auto& d : deps)
          if (auto ok =
                  follow(d, fmt::format("group \"{}\" of the workspace root {}", group, p.display_name));
              !ok)
            return ok;
      }
    }
    if (lock_.project_name.empty() && target_.packages.empty()) {
      // A workspace root without [project]: its requirements and groups are in the manifest.
      std::vector<const Dependency*> roots;
      for (const auto& d : lock_.manifest_requirements) roots.push_back(&d);
      for (const auto& [group, deps] : lock_.manifest_groups)
        if (target_.groups.contains(group))
          for (const auto& d : deps) roots.push_back(&d);
      for (const Dependency* d : roots) {
        Dependency edge = *d;
        edge.locked_version.clear();  // a requirement's specifier is not a locked version
        if (auto ok = follow(edge, "the workspace"); !ok) return ok;
      }
    }
    while (!queue.empty()) {
      auto [index, extra] = queue.front();
      queue.pop_front();
      const Package& p = lock_.packages[index];
      const std::vector<Dependency>* deps = &p.dependencies;
      std::string parent = p.display_name;
      if (!extra.empty()) {
        auto it = p.optional_dependencies.find(extra);
        if (it == p.optional_dependencies.end()) continue;  // an extra without locked dependencies
        deps = &it->second;
        parent = fmt::format("{}[{}]", p.display_name, extra);
      }
      for (const auto& d : *deps)
        if (auto ok = follow(d, parent); !ok) return ok;
    }
    for (std::size_t i : reached_) why_not_.erase(i);
    return {};
  }

  Result<void> check_conflicts() const {
    for (const auto& set : lock_.conflicts) {
      std::vector<const ConflictItem*> active;
      for (const auto& item : set) {
        std::string code = !item.extra.empty()   ? encode("extra", item.package, item.extra)
                           : !item.group.empty() ? encode("group", item.package, item.group)
                                                 : encode("project", item.package);
        if (activated_.contains(code)) active.push_back(&item);
      }
      if (active.size() > 1)
        return fail(ErrorKind::usage,
                    fmt::format("{}: {} and {} conflict (the lock's `conflicts` forbid selecting both)",
                                lock_.source_name, describe(*active[0]), describe(*active[1])));
    }
    return {};
  }

  const Lock& lock_;
  const UvTarget& target_;
  std::map<std::string, std::vector<std::size_t>> by_name_;
  std::vector<std::size_t> roots_;
  std::optional<std::size_t> group_root_;
  std::set<std::string> activated_;
  std::set<std::size_t> reached_;
  std::map<std::size_t, std::string> why_not_;
};

}  // namespace

Result<Lock> read_uv_lock(std::string_view text, std::string_view source_name) {
  return detail::catch_errors([&] { return read(text, source_name); });
}

bool looks_like_uv_lock(std::string_view text) {
  // uv writes `version = 1` as the first line; the other formats start otherwise (poetry.lock with
  // a comment and [[package]], pylock.toml with lock-version, a layer manifest with
  // manifest-version).
  for (std::string_view line : util::split(text, '\n')) {
    line = util::trim(line);
    if (line.empty() || line.starts_with('#')) continue;
    if (!line.starts_with("version")) return false;
    line = util::trim(line.substr(7));
    return line.starts_with('=');
  }
  return false;
}

Result<Selection> uv_select(const Lock& lock, const UvTarget& target, Selection selection) {
  UvSelector selector(lock, target);
  return selector.run(std::move(selection));
}

}  // namespace strata::lock
