#include "lock/poetry.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "lock/poetry_constraint.hpp"
#include "lock/toml_read.hpp"
#include "pep/name.hpp"
#include "pep/requirement.hpp"
#include "util/strings.hpp"

namespace strata::lock {
namespace {

using detail::TomlFields;

pep::Marker marker_at(const TomlFields& f, const toml::node& node, std::string_view key) {
  const std::string& text = f.as_string(node, fmt::format("\"{}\"", key));
  auto marker = pep::Marker::parse(text);
  if (!marker) f.fail_at(node, fmt::format("invalid marker for \"{}\": {}", key, marker.error().message));
  return std::move(*marker);
}

void check_constraint(const TomlFields& f, const toml::node& node, const std::string& text) {
  if (auto c = PoetryConstraint::parse(text); !c) f.fail_at(node, c.error().message);
}

// One dependency given as a Poetry table ({version = ..., markers = ..., ...}).
Dependency dependency_from_table(const TomlFields& f, std::string_view name, const toml::table& t) {
  Dependency d;
  d.display_name = std::string(name);
  d.name = pep::normalize_name(name);
  if (auto version = f.opt_string(t, "version")) {
    check_constraint(f, *t.get("version"), *version);
    d.constraint = *version;
  }
  if (const toml::node* markers = t.get("markers")) d.marker = marker_at(f, *markers, "markers");
  if (auto python = f.opt_string(t, "python")) {
    check_constraint(f, *t.get("python"), *python);
    d.python = *python;
  }
  d.platform = f.opt_string(t, "platform").value_or("");
  d.optional = f.opt_bool(t, "optional").value_or(false);
  for (const auto& extra : f.string_array(t, "extras")) d.extras.push_back(pep::normalize_name(extra));
  for (const char* key : {"url", "path", "file", "git", "hg", "svn", "bzr"}) {
    if (t.get(key)) d.direct = true;
  }
  return d;
}

// A dependency entry in any of its forms: "constraint", {table}, or an array of either.
void read_dependency_entry(const TomlFields& f, std::string_view name, const toml::node& node,
                           std::vector<Dependency>& out) {
  if (const auto* s = node.as_string()) {
    check_constraint(f, node, s->get());
    Dependency d;
    d.display_name = std::string(name);
    d.name = pep::normalize_name(name);
    d.constraint = s->get();
    out.push_back(std::move(d));
  } else if (const auto* t = node.as_table()) {
    out.push_back(dependency_from_table(f, name, *t));
  } else if (const auto* a = node.as_array()) {
    for (const toml::node& item : *a) {
      if (item.is_array())
        f.fail_at(item, fmt::format("expected a string or table for dependency \"{}\"", name));
      read_dependency_entry(f, name, item, out);
    }
  } else {
    f.fail_at(node, fmt::format("expected a string, table or array for dependency \"{}\"", name));
  }
}

std::vector<Dependency> read_dependency_table(const TomlFields& f, const toml::table* table,
                                              bool skip_python) {
  std::vector<Dependency> out;
  if (!table) return out;
  for (const auto& [key, node] : *table) {
    if (skip_python && key.str() == "python") continue;
    read_dependency_entry(f, key.str(), node, out);
  }
  return out;
}

// "PySocks (>=1.5.6,!=1.5.7)", "pysocks>=1.5.6 ; extra == 'socks'", "foo[bar] (>=1)": the name.
std::string requirement_name(std::string_view text) {
  text = util::trim(text);
  std::size_t i = 0;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '-' ||
                             text[i] == '_' || text[i] == '.'))
    ++i;
  return pep::normalize_name(text.substr(0, i));
}

Source read_package_source(const TomlFields& f, const toml::table& t) {
  Source s;
  std::string type = f.opt_string(t, "type").value_or("");
  std::string url = f.opt_string(t, "url").value_or("");
  std::string reference = f.opt_string(t, "reference").value_or("");
  if (type == "legacy") {
    s.kind = SourceKind::index;
    s.name = reference;
    s.url = url;
  } else if (type == "url") {
    s.kind = SourceKind::url;
    s.url = url;
  } else if (type == "file") {
    s.kind = SourceKind::file;
    s.path = url;
  } else if (type == "directory") {
    s.kind = SourceKind::directory;
    s.path = url;
  } else if (type == "git" || type == "hg" || type == "svn" || type == "bzr") {
    s.kind = SourceKind::vcs;
    s.vcs = type;
    s.url = url;
    s.requested_revision = reference;
    s.commit_id = f.opt_string(t, "resolved_reference").value_or("");
  } else if (type.empty()) {
    s.kind = SourceKind::index;
  } else {
    f.fail_at(*t.get("type"), fmt::format("unsupported source type \"{}\" (expected legacy, url, file, "
                                          "directory or git)",
                                          type));
  }
  s.subdirectory = f.opt_string(t, "subdirectory").value_or("");
  return s;
}

std::string last_segment(std::string_view s) {
  if (auto q = s.find_first_of("?#"); q != std::string_view::npos) s = s.substr(0, q);
  if (auto slash = s.find_last_of('/'); slash != std::string_view::npos) s = s.substr(slash + 1);
  return std::string(s);
}

// "sha256:abc" -> {"sha256", "abc"}; a bare hex digest is sha256 (Poetry 1.0).
std::pair<std::string, std::string> split_hash(const TomlFields& f, const toml::node& node,
                                               const std::string& text) {
  auto colon = text.find(':');
  std::string algo = colon == std::string::npos ? "sha256" : util::to_lower(text.substr(0, colon));
  std::string hex = colon == std::string::npos ? text : text.substr(colon + 1);
  detail::check_hash(f, node, algo, hex);
  return {algo, util::to_lower(hex)};
}

std::vector<Artifact> read_files(const TomlFields& f, const toml::array& files) {
  std::vector<Artifact> out;
  for (const toml::node& node : files) {
    const toml::table& t = f.as_table(node, "an entry of \"files\"");
    Artifact a;
    a.filename = f.req_string(t, "file", "a file entry");
    std::string hash = f.req_string(t, "hash", "a file entry");
    a.hashes.insert(split_hash(f, *t.get("hash"), hash));
    a.kind = a.filename.ends_with(".whl") ? Artifact::Kind::wheel : Artifact::Kind::sdist;
    out.push_back(std::move(a));
  }
  return out;
}

// No [[package]] may repeat an earlier one (the nodes are the entries of `packages`): Poetry
// writes one per name, version and source (one name and version may come from two sources).
void check_no_duplicates(const TomlFields& f, const toml::array& nodes,
                         const std::vector<Package>& packages) {
  std::map<std::string, std::vector<std::size_t>> by_name;
  for (std::size_t i = 0; i < packages.size(); ++i) {
    const Package& p = packages[i];
    for (std::size_t j : by_name[p.name]) {
      const Package& q = packages[j];
      if (q.version == p.version && q.source.kind == p.source.kind && q.source.url == p.source.url &&
          q.source.name == p.source.name && q.source.path == p.source.path)
        f.fail_at(*nodes.get(i), fmt::format("duplicate [[package]] {} {} (also at {})", p.display_name,
                                             p.version_text, q.location));
    }
    by_name[p.name].push_back(i);
  }
}

Package read_package(const TomlFields& f, const toml::table& t, const toml::table* metadata_files,
                     const toml::table* metadata_hashes) {
  Package p;
  p.location = f.where(t);
  p.display_name = f.req_string(t, "name", "[[package]]");
  if (!pep::is_valid_name(p.display_name))
    f.fail_at(*t.get("name"), fmt::format("invalid package name \"{}\"", p.display_name));
  p.name = pep::normalize_name(p.display_name);
  p.version_text = f.req_string(t, "version", "[[package]]");
  auto version = pep::Version::parse(p.version_text);
  if (!version) f.fail_at(*t.get("version"), fmt::format("invalid version \"{}\"", p.version_text));
  p.version = std::move(*version);
  (void)f.opt_string(t, "description");
  p.optional = f.opt_bool(t, "optional").value_or(false);
  if (auto python = f.opt_string(t, "python-versions")) {
    check_constraint(f, *t.get("python-versions"), *python);
    p.requires_python = *python;
  }
  p.category = f.opt_string(t, "category");
  if (const toml::node* m = t.get("marker")) p.marker = marker_at(f, *m, "marker");
  if (const toml::table* source = f.opt_table(t, "source")) p.source = read_package_source(f, *source);
  p.source.editable = f.opt_bool(t, "develop").value_or(false);

  // groups + markers (lock 2.1): markers is one string for every group or a table per group.
  std::vector<std::string> groups = f.string_array(t, "groups");
  const toml::node* markers = t.get("markers");
  if (markers && !markers->is_string() && !markers->is_table())
    f.fail_at(*markers, "expected a string or a table for \"markers\"");
  for (const auto& g : groups) {
    GroupMembership m{pep::normalize_name(g), std::nullopt};
    if (markers && markers->is_string()) {
      m.marker = marker_at(f, *markers, "markers");
    } else if (markers) {
      for (const auto& [key, value] : *markers->as_table()) {
        if (pep::normalize_name(key.str()) == m.group) m.marker = marker_at(f, value, "markers");
      }
    }
    p.groups.push_back(std::move(m));
  }

  if (const toml::array* files = f.opt_array(t, "files")) {
    p.artifacts = read_files(f, *files);
  } else if (metadata_files) {
    // Lock 1.x keeps files under [metadata.files], keyed by the name as written (or normalized).
    const toml::node* entry = metadata_files->get(p.display_name);
    if (!entry) entry = metadata_files->get(p.name);
    if (entry) {
      const toml::array* listed = entry->as_array();
      if (!listed)
        f.fail_at(*entry, fmt::format("expected an array for the files of \"{}\"", p.display_name));
      p.artifacts = read_files(f, *listed);
      if (p.source.kind == SourceKind::file) {
        std::string filename = last_segment(p.source.path);
        std::erase_if(p.artifacts, [&](const Artifact& a) { return a.filename != filename; });
      }
    }
  } else if (metadata_hashes) {
    // Lock 1.0 without file names: hashes only.
    if (const toml::node* entry = metadata_hashes->get(p.display_name)) {
      const toml::array* hashes = entry->as_array();
      if (!hashes)
        f.fail_at(*entry, fmt::format("expected an array for the hashes of \"{}\"", p.display_name));
      for (const toml::node& h : *hashes) {
        Artifact a;
        a.hashes.insert(split_hash(f, h, f.as_string(h, "a hash")));
        p.artifacts.push_back(std::move(a));
      }
    }
  }
  if (p.source.kind == SourceKind::url || p.source.kind == SourceKind::file) {
    for (auto& a : p.artifacts) {
      if (p.source.kind == SourceKind::url) a.url = p.source.url;
      if (p.source.kind == SourceKind::file) a.path = p.source.path;
    }
  }

  if (const toml::table* deps = f.opt_table(t, "dependencies"))
    p.dependencies = read_dependency_table(f, deps, false);
  if (const toml::table* extras = f.opt_table(t, "extras")) {
    for (const auto& [key, value] : *extras) {
      const toml::array* list = value.as_array();
      if (!list) f.fail_at(value, fmt::format("expected an array for extra \"{}\"", key.str()));
      auto& names = p.extras[pep::normalize_name(key.str())];
      for (const toml::node& item : *list)
        names.push_back(requirement_name(f.as_string(item, "an extra's requirement")));
    }
  }
  return p;
}

void add_group(Lock& lock, const std::string& name, bool optional) {
  for (auto& g : lock.groups) {
    if (g.name == name) {
      g.optional = g.optional || optional;
      return;
    }
  }
  lock.groups.push_back(Group{name, optional, {}});
}

Group& group_named(Lock& lock, const std::string& name) {
  add_group(lock, name, false);
  for (auto& g : lock.groups) {
    if (g.name == name) return g;
  }
  return lock.groups.front();
}

void add_extra(Lock& lock, const std::string& name) {
  if (std::find(lock.extras.begin(), lock.extras.end(), name) == lock.extras.end())
    lock.extras.push_back(name);
}

// PEP 735 groups, with {include-group = "..."} expanded (cycles are an error).
void read_dependency_groups(const TomlFields& f, const toml::table& groups, Lock& lock) {
  std::map<std::string, const toml::array*> by_name;
  for (const auto& [key, value] : groups) {
    const toml::array* list = value.as_array();
    if (!list) f.fail_at(value, fmt::format("expected an array for dependency group \"{}\"", key.str()));
    by_name[pep::normalize_name(key.str())] = list;
  }
  // Each group expands to the set of requirement strings it reaches, computed once per group, so
  // diamond-shaped includes stay linear instead of doubling per level.
  std::map<std::string, std::vector<const toml::node*>> expanded;
  std::set<std::string> visiting;
  std::function<const std::vector<const toml::node*>&(const std::string&)> expand =
      [&](const std::string& name) -> const std::vector<const toml::node*>& {
    if (auto done = expanded.find(name); done != expanded.end()) return done->second;
    visiting.insert(name);
    std::vector<const toml::node*> leaves;
    std::set<const toml::node*> seen;
    for (const toml::node& item : *by_name.at(name)) {
      if (item.is_string()) {
        if (seen.insert(&item).second) leaves.push_back(&item);
        continue;
      }
      const toml::table& t = f.as_table(item, "a dependency group entry");
      std::string include = pep::normalize_name(f.req_string(t, "include-group", "a dependency group entry"));
      if (!by_name.contains(include))
        f.fail_at(item, fmt::format("unknown dependency group \"{}\" included", include));
      if (visiting.contains(include))
        f.fail_at(item, fmt::format("dependency group \"{}\" includes itself", include));
      for (const toml::node* leaf : expand(include))
        if (seen.insert(leaf).second) leaves.push_back(leaf);
    }
    visiting.erase(name);
    return expanded[name] = std::move(leaves);
  };
  for (const auto& [name, list] : by_name) {
    auto& group = group_named(lock, name);
    for (const toml::node* leaf : expand(name))
      group.roots.push_back(detail::dependency_from_pep508(f, *leaf));
  }
}

void read_pyproject(std::string_view text, std::string_view source_name, Lock& lock) {
  auto parsed = detail::parse_toml(text, source_name);
  if (!parsed) throw CommandError(parsed.error());
  const toml::table& doc = *parsed;
  TomlFields f{std::string(source_name)};
  lock.has_project = true;

  const toml::table* project = f.opt_table(doc, "project");
  const toml::table* tool = f.opt_table(doc, "tool");
  const toml::table* poetry = tool ? f.opt_table(*tool, "poetry") : nullptr;

  if (project) {
    if (auto name = f.opt_string(*project, "name")) lock.project_name = pep::normalize_name(*name);
    if (auto rp = f.opt_string(*project, "requires-python")) {
      check_constraint(f, *project->get("requires-python"), *rp);
      lock.requires_python = *rp;
    }
  }
  if (poetry) {
    if (auto name = f.opt_string(*poetry, "name"); name && lock.project_name.empty())
      lock.project_name = pep::normalize_name(*name);
  }

  Group& main = group_named(lock, "main");
  const toml::array* project_deps = project ? f.opt_array(*project, "dependencies") : nullptr;
  if (project_deps) {
    for (const toml::node& node : *project_deps)
      main.roots.push_back(detail::dependency_from_pep508(f, node));
  }
  if (poetry) {
    if (const toml::table* deps = f.opt_table(*poetry, "dependencies")) {
      if (const toml::node* python = deps->get("python")) {
        const std::string& constraint = f.as_string(*python, "\"python\"");
        check_constraint(f, *python, constraint);
        if (lock.requires_python.empty()) lock.requires_python = constraint;
      }
      // With [project] dependencies, tool.poetry.dependencies only adds detail to them.
      if (!project_deps) {
        auto roots = read_dependency_table(f, deps, true);
        main.roots.insert(main.roots.end(), roots.begin(), roots.end());
      }
    }
  }
  if (project) {
    if (const toml::table* optional = f.opt_table(*project, "optional-dependencies")) {
      for (const auto& [extra, value] : *optional) {
        const toml::array* list = value.as_array();
        if (!list)
          f.fail_at(value, fmt::format("expected an array for optional dependencies \"{}\"", extra.str()));
        std::string extra_name = pep::normalize_name(extra.str());
        add_extra(lock, extra_name);
        for (const toml::node& node : *list) {
          Dependency d = detail::dependency_from_pep508(f, node);
          d.optional = true;
          auto& names = lock.root_extras[extra_name];
          if (std::find(names.begin(), names.end(), d.name) == names.end()) names.push_back(d.name);
          group_named(lock, "main").roots.push_back(std::move(d));
        }
      }
    }
  }
  if (poetry) {
    if (const toml::table* dev = f.opt_table(*poetry, "dev-dependencies")) {
      auto roots = read_dependency_table(f, dev, false);
      auto& group = group_named(lock, "dev");
      group.roots.insert(group.roots.end(), roots.begin(), roots.end());
    }
    if (const toml::table* groups = f.opt_table(*poetry, "group")) {
      for (const auto& [key, value] : *groups) {
        const toml::table& g = f.as_table(value, fmt::format("group \"{}\"", key.str()));
        std::string name = pep::normalize_name(key.str());
        add_group(lock, name, f.opt_bool(g, "optional").value_or(false));
        auto roots = read_dependency_table(f, f.opt_table(g, "dependencies"), false);
        auto& group = group_named(lock, name);
        group.roots.insert(group.roots.end(), roots.begin(), roots.end());
      }
    }
    if (const toml::table* extras = f.opt_table(*poetry, "extras")) {
      for (const auto& [key, value] : *extras) {
        std::string extra_name = pep::normalize_name(key.str());
        add_extra(lock, extra_name);
        const toml::array* list = value.as_array();
        if (!list) f.fail_at(value, fmt::format("expected an array for extra \"{}\"", key.str()));
        auto& names = lock.root_extras[extra_name];
        for (const toml::node& item : *list) {
          std::string name = requirement_name(f.as_string(item, "an extra's package"));
          if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
        }
      }
    }
    if (const toml::array* sources = f.opt_array(*poetry, "source")) {
      for (const toml::node& node : *sources) {
        const toml::table& t = f.as_table(node, "[[tool.poetry.source]]");
        Source s;
        s.kind = SourceKind::index;
        s.name = f.req_string(t, "name", "[[tool.poetry.source]]");
        s.url = f.opt_string(t, "url").value_or("");
        (void)f.opt_string(t, "priority");
        lock.sources.push_back(std::move(s));
      }
    }
  }
  if (const toml::table* groups = f.opt_table(doc, "dependency-groups"))
    read_dependency_groups(f, *groups, lock);
}

Lock read(std::string_view lock_text, std::string_view lock_name, std::optional<PyprojectText> pyproject) {
  auto parsed = detail::parse_toml(lock_text, lock_name);
  if (!parsed) throw CommandError(parsed.error());
  const toml::table& doc = *parsed;
  TomlFields f{std::string(lock_name)};

  Lock lock;
  lock.format = Format::poetry;
  lock.source_name = std::string(lock_name);
  lock.created_by = poetry_generator_version(lock_text);
  lock.groups.push_back(Group{"main", false, {}});
  lock.default_groups = {"main"};

  const toml::table* metadata = f.opt_table(doc, "metadata");
  if (!metadata) f.fail_at(doc, "missing [metadata] (is this a poetry.lock?)");
  lock.lock_version = f.opt_string(*metadata, "lock-version").value_or("1.0");
  auto lv = pep::Version::parse(lock.lock_version);
  if (!lv || lv->release().empty() || lv->release()[0] < 1 || lv->release()[0] > 2) {
    const toml::node* node = metadata->get("lock-version");
    f.fail_at(node ? *node : static_cast<const toml::node&>(*metadata),
              fmt::format("unsupported lock-version \"{}\" (strata reads 1.0 to 2.1)", lock.lock_version));
  }
  lock.groups_and_markers = lv->release()[0] == 2 && lv->release().size() > 1 && lv->release()[1] >= 1;
  lock.content_hash = f.opt_string(*metadata, "content-hash").value_or("");
  if (auto python = f.opt_string(*metadata, "python-versions")) {
    check_constraint(f, *metadata->get("python-versions"), *python);
    lock.requires_python = *python;
  }
  const toml::table* metadata_files = f.opt_table(*metadata, "files");
  const toml::table* metadata_hashes = f.opt_table(*metadata, "hashes");

  if (const toml::node* packages = doc.get("package")) {
    const toml::array* array = packages->as_array();
    if (!array) f.fail_at(*packages, "expected an array of tables for \"package\"");
    for (const toml::node& node : *array) {
      lock.packages.push_back(
          read_package(f, f.as_table(node, "[[package]]"), metadata_files, metadata_hashes));
      for (const auto& m : lock.packages.back().groups) add_group(lock, m.group, false);
      if (const auto& c = lock.packages.back().category) add_group(lock, pep::normalize_name(*c), false);
    }
    check_no_duplicates(f, *array, lock.packages);
  }
  if (const toml::table* extras = f.opt_table(doc, "extras")) {
    for (const auto& [key, value] : *extras) {
      std::string extra = pep::normalize_name(key.str());
      add_extra(lock, extra);
      auto& names = lock.root_extras[extra];
      const toml::array* list = value.as_array();
      if (!list) f.fail_at(value, fmt::format("expected an array for extra \"{}\"", key.str()));
      for (const toml::node& item : *list)
        names.push_back(requirement_name(f.as_string(item, "an extra's package")));
    }
  }
  if (pyproject) {
    // The lock's python-versions is the project's constraint; pyproject's wins when both say.
    std::string lock_python = lock.requires_python;
    lock.requires_python.clear();
    auto lock_extras = lock.root_extras;
    read_pyproject(pyproject->text, pyproject->source_name, lock);
    if (!lock_extras.empty()) lock.root_extras = lock_extras;  // [extras] of the lock is what Poetry reads
    if (lock.requires_python.empty()) lock.requires_python = lock_python;
  }
  for (const auto& p : lock.packages) {
    if (p.source.kind == SourceKind::index && !p.source.name.empty()) {
      bool known = false;
      for (const auto& s : lock.sources) known = known || s.name == p.source.name;
      if (!known) lock.sources.push_back(p.source);
    }
  }
  return lock;
}

}  // namespace

std::string poetry_generator_version(std::string_view lock_text) {
  std::string_view first = lock_text.substr(0, lock_text.find('\n'));
  auto pos = first.find("Poetry ");
  if (pos == std::string_view::npos || !first.starts_with("#")) return "";
  std::string_view rest = first.substr(pos + 7);
  return std::string(rest.substr(0, rest.find(' ')));
}

Result<Lock> read_poetry(std::string_view lock_text, std::string_view lock_name,
                         std::optional<PyprojectText> pyproject) {
  return detail::catch_errors([&] { return read(lock_text, lock_name, pyproject); });
}

}  // namespace strata::lock
