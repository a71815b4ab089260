#include "lock/pdm_lock.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#include <fmt/format.h>

#include "lock/toml_read.hpp"
#include "pep/name.hpp"
#include "pep/specifier.hpp"
#include "util/strings.hpp"

namespace strata::lock {
namespace {

using detail::TomlFields;

// pdm 2.29 writes 4.5.1 and reads 4.x up to its own minor (pdm's PDMLock.compatibility).
constexpr int kMaxMinor = 5;

pep::Marker marker_at(const TomlFields& f, const toml::node& node, std::string_view what) {
  const std::string& text = f.as_string(node, what);
  auto marker = pep::Marker::parse(text);
  if (!marker) f.fail_at(node, fmt::format("invalid marker for {}: {}", what, marker.error().message));
  return std::move(*marker);
}

void check_lock_version(const TomlFields& f, const toml::table& metadata, Lock& lock) {
  const toml::node* node = metadata.get("lock_version");
  if (!node) f.fail_at(metadata, "missing \"lock_version\" in [metadata] (is this a pdm.lock?)");
  lock.lock_version = f.as_string(*node, "\"lock_version\"");
  auto version = pep::Version::parse(lock.lock_version);
  if (!version || version->release().empty())
    f.fail_at(*node, fmt::format("invalid lock_version \"{}\"", lock.lock_version));
  const auto& release = version->release();
  std::uint64_t minor = release.size() > 1 ? release[1] : 0;
  if (release[0] != 4 || minor > kMaxMinor)
    f.fail_at(*node, fmt::format("unsupported lock_version \"{}\" (strata reads pdm.lock 4.0 to 4.{}; "
                                 "{} pdm wrote it: lock again with the pdm strata supports or update strata)",
                                 lock.lock_version, kMaxMinor, release[0] < 4 ? "an older" : "a newer"));
}

// A lock target ({requires_python, platform, implementation}) as a marker: the target must match
// one of them, as pdm's install refuses a lock without a matching target.
pep::Marker target_marker(const TomlFields& f, const toml::table& t) {
  std::vector<std::string> clauses;
  if (auto rp = f.opt_string(t, "requires_python")) {
    auto spec = pep::SpecifierSet::parse(*rp);
    if (!spec) f.fail_at(*t.get("requires_python"), fmt::format("invalid requires_python \"{}\"", *rp));
    for (const auto& clause : util::split(*rp, ',')) {
      std::string_view c = util::trim(clause);
      if (c.empty()) continue;
      auto split = c.find_first_not_of("<>=!~");
      clauses.push_back(
          fmt::format("python_full_version {} \"{}\"", c.substr(0, split),
                      util::trim(c.substr(split == std::string_view::npos ? c.size() : split))));
    }
  }
  if (auto platform = f.opt_string(t, "platform")) {
    const std::string& p = *platform;
    if (p.starts_with("manylinux") || p.starts_with("musllinux") || p.starts_with("linux"))
      clauses.push_back("sys_platform == \"linux\"");
    else if (p.starts_with("windows") || p.starts_with("win"))
      clauses.push_back("sys_platform == \"win32\"");
    else if (p.starts_with("macos"))
      clauses.push_back("sys_platform == \"darwin\"");
  }
  if (auto implementation = f.opt_string(t, "implementation"))
    clauses.push_back(fmt::format("implementation_name == \"{}\"", util::to_lower(*implementation)));
  (void)f.opt_bool(t, "gil_disabled");
  if (clauses.empty()) clauses.push_back("python_full_version >= \"0\"");
  auto marker = pep::Marker::parse(util::join(clauses, " and "));
  if (!marker) f.fail_at(t, fmt::format("unreadable lock target: {}", marker.error().message));
  return std::move(*marker);
}

std::string last_segment(std::string_view s) {
  if (auto q = s.find_first_of("?#"); q != std::string_view::npos) s = s.substr(0, q);
  if (auto slash = s.find_last_of('/'); slash != std::string_view::npos) s = s.substr(slash + 1);
  return std::string(s);
}

bool is_archive_name(std::string_view name) {
  for (std::string_view ext : {".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar"})
    if (name.ends_with(ext)) return true;
  return false;
}

// pdm writes local file URLs relative to the project as `file:///${PROJECT_ROOT}/...`.
std::optional<std::string> project_relative(std::string_view url) {
  for (std::string_view prefix : {"file:///${PROJECT_ROOT}/", "file://${PROJECT_ROOT}/", "${PROJECT_ROOT}/"})
    if (url.starts_with(prefix)) return std::string(url.substr(prefix.size()));
  return std::nullopt;
}

std::vector<Artifact> read_files(const TomlFields& f, const toml::array& files) {
  std::vector<Artifact> out;
  for (const toml::node& node : files) {
    const toml::table& t = f.as_table(node, "an entry of \"files\"");
    Artifact a;
    a.url = f.opt_string(t, "url").value_or("");  // static_urls strategy
    a.filename = f.opt_string(t, "file").value_or("");
    if (a.filename.empty() && !a.url.empty()) a.filename = last_segment(a.url);
    if (a.filename.empty()) f.fail_at(t, "a file entry needs \"file\" or \"url\"");
    const toml::node* hash_node = t.get("hash");
    if (!hash_node) f.fail_at(t, fmt::format("missing \"hash\" for {}", a.filename));
    const std::string& hash = f.as_string(*hash_node, "\"hash\"");
    auto colon = hash.find(':');
    if (colon == std::string::npos)
      f.fail_at(*hash_node, fmt::format("expected \"<algorithm>:<hex>\" for the hash of {}", a.filename));
    std::string algo = util::to_lower(hash.substr(0, colon));
    std::string hex = hash.substr(colon + 1);
    detail::check_hash(f, *hash_node, algo, hex);
    a.hashes.emplace(algo, util::to_lower(hex));
    a.kind = a.filename.ends_with(".whl") ? Artifact::Kind::wheel : Artifact::Kind::sdist;
    out.push_back(std::move(a));
  }
  return out;
}

void read_source(const TomlFields& f, const toml::table& t, Package& p) {
  Source& s = p.source;
  int kinds = 0;
  for (const char* vcs : {"git", "hg", "svn", "bzr"}) {
    if (auto url = f.opt_string(t, vcs)) {
      ++kinds;
      s.kind = SourceKind::vcs;
      s.vcs = vcs;
      s.url = *url;
      s.requested_revision = f.opt_string(t, "ref").value_or("");
      s.commit_id = f.opt_string(t, "revision").value_or("");
    }
  }
  auto url = f.opt_string(t, "url");
  auto path = f.opt_string(t, "path");
  kinds += (url ? 1 : 0) + (path ? 1 : 0);
  if (kinds > 1)
    f.fail_at(t, fmt::format("package \"{}\" names more than one of git, hg, svn, bzr, url and path",
                             p.display_name));
  if (url) {
    if (auto relative = project_relative(*url)) {
      path = relative;
    } else if (url->starts_with("file://")) {
      path = url->substr(7);
    } else {
      s.kind = SourceKind::url;
      s.url = *url;
    }
  }
  if (path) {
    s.path = *path;
    s.kind = is_archive_name(*path) ? SourceKind::file : SourceKind::directory;
  }
  s.subdirectory = f.opt_string(t, "subdirectory").value_or("");
  s.editable = f.opt_bool(t, "editable").value_or(false);
  if (s.editable && s.kind != SourceKind::directory && s.kind != SourceKind::vcs)
    f.fail_at(*t.get("editable"),
              fmt::format("package \"{}\" is editable but names no path or repository", p.display_name));
}

Package read_package(const TomlFields& f, const toml::table& t) {
  Package p;
  detail::read_name_version(f, t, p);
  if (auto rp = f.opt_string(t, "requires_python")) {
    if (!rp->empty() && !pep::SpecifierSet::parse(*rp))
      f.fail_at(*t.get("requires_python"), fmt::format("invalid requires_python \"{}\"", *rp));
    p.requires_python = *rp;
  }
  (void)f.opt_string(t, "summary");
  read_source(f, t, p);
  if (p.version_text.empty() && p.source.kind != SourceKind::vcs && p.source.kind != SourceKind::directory)
    f.fail_at(t, fmt::format("missing \"version\" for package \"{}\"", p.display_name));
  if (const toml::node* m = t.get("marker")) p.marker = marker_at(f, *m, "\"marker\"");
  for (const auto& group : f.string_array(t, "groups"))
    p.groups.push_back(GroupMembership{pep::normalize_name(group), p.marker});
  if (const toml::array* deps = f.opt_array(t, "dependencies"))
    for (const toml::node& node : *deps) p.dependencies.push_back(detail::dependency_from_pep508(f, node));
  if (const toml::array* files = f.opt_array(t, "files")) p.artifacts = read_files(f, *files);
  if (p.source.kind == SourceKind::url || p.source.kind == SourceKind::file) {
    // A direct archive: the lock's files are that archive (pdm records its hash).
    std::string filename = last_segment(p.source.kind == SourceKind::url ? p.source.url : p.source.path);
    if (p.artifacts.empty()) {
      Artifact a;
      a.filename = filename;
      a.kind = filename.ends_with(".whl") ? Artifact::Kind::wheel : Artifact::Kind::sdist;
      p.artifacts.push_back(std::move(a));
    }
    for (auto& a : p.artifacts) {
      if (p.source.kind == SourceKind::url) a.url = p.source.url;
      if (p.source.kind == SourceKind::file) a.path = p.source.path;
    }
  }
  return p;
}

// `${NAME}` in a source URL is the environment variable NAME, as pdm expands it (credentials are
// commonly passed so: `https://${USER}:${TOKEN}@host/simple`). An unset one is an error naming it.
std::string expand_variables(const TomlFields& f, const toml::node& node, std::string_view url,
                             std::string_view source) {
  std::string out;
  for (std::size_t i = 0; i < url.size();) {
    auto open = url.find("${", i);
    if (open == std::string_view::npos) {
      out += url.substr(i);
      break;
    }
    auto close = url.find('}', open);
    if (close == std::string_view::npos)
      f.fail_at(node, fmt::format("source \"{}\": unclosed \"${{\" in its url", source));
    std::string name(url.substr(open + 2, close - open - 2));
    const char* value = std::getenv(name.c_str());
    if (!value)
      f.fail_at(node,
                fmt::format("source \"{}\": its url names the environment variable {}, which is not set",
                            source, name));
    out += url.substr(i, open - i);
    out += value;
    i = close + 1;
  }
  return out;
}

// `[[tool.pdm.source]]`: the indexes pdm searched when it locked (pdm.lock names files only). An
// index named "pypi" replaces the default index; the others are searched after it, as pip's
// --extra-index-url; `type = "find_links"` ones are find-links pages or directories.
void read_sources(const TomlFields& f, const toml::table& pdm, Lock& lock) {
  const toml::array* sources = f.opt_array(pdm, "source");
  if (!sources) return;
  for (const toml::node& node : *sources) {
    const toml::table& t = f.as_table(node, "[[tool.pdm.source]]");
    std::string name = f.opt_string(t, "name").value_or("");
    const toml::node* url_node = t.get("url");
    if (!url_node) f.fail_at(t, fmt::format("source \"{}\" has no \"url\"", name));
    std::string url = expand_variables(f, *url_node, f.as_string(*url_node, "a source's \"url\""), name);
    std::string type = f.opt_string(t, "type").value_or("index");
    (void)f.opt_bool(t, "verify_ssl");  // strata verifies every server (STRATA_CA_FILE names a CA)
    if (type == "find_links") {
      lock.find_links.push_back(url.starts_with("file://") ? url.substr(url.find('/', 7)) : url);
    } else if (type != "index") {
      f.fail_at(*t.get("type"),
                fmt::format("source \"{}\": unknown type \"{}\" (pdm's are \"index\" and \"find_links\")",
                            name, type));
    } else {
      if (name.empty()) f.fail_at(t, "an index source needs a \"name\"");
      Source source;
      source.name = name;
      source.url = url;
      lock.sources.push_back(source);
      if (name != "pypi") lock.extra_index_urls.push_back(url);
    }
  }
}

void add_unique(std::vector<std::string>& names, const std::string& name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

// Which of the lock's groups are extras ([project.optional-dependencies]) and which are
// dependency groups ([dependency-groups], [tool.pdm.dev-dependencies]); the project's name.
struct ProjectGroups {
  std::set<std::string> extras;
  std::set<std::string> groups;
};

ProjectGroups read_pyproject(const PyprojectText& pyproject, Lock& lock) {
  auto parsed = detail::parse_toml(pyproject.text, pyproject.source_name);
  if (!parsed) throw CommandError(parsed.error());
  const toml::table& doc = *parsed;
  TomlFields f{std::string(pyproject.source_name)};
  ProjectGroups out;
  lock.has_project = true;
  if (const toml::table* project = f.opt_table(doc, "project")) {
    if (auto name = f.opt_string(*project, "name")) lock.project_name = pep::normalize_name(*name);
    if (const toml::table* optional = f.opt_table(*project, "optional-dependencies"))
      for (const auto& [key, value] : *optional) out.extras.insert(pep::normalize_name(key.str()));
  }
  if (const toml::table* groups = f.opt_table(doc, "dependency-groups"))
    for (const auto& [key, value] : *groups) out.groups.insert(pep::normalize_name(key.str()));
  if (const toml::table* tool = f.opt_table(doc, "tool")) {
    if (const toml::table* pdm = f.opt_table(*tool, "pdm")) {
      if (const toml::table* dev = f.opt_table(*pdm, "dev-dependencies"))
        for (const auto& [key, value] : *dev) out.groups.insert(pep::normalize_name(key.str()));
      read_sources(f, *pdm, lock);
    }
  }
  return out;
}

Lock read(std::string_view text, std::string_view source_name, std::optional<PyprojectText> pyproject) {
  auto parsed = detail::parse_toml(text, source_name);
  if (!parsed) throw CommandError(parsed.error());
  const toml::table& doc = *parsed;
  TomlFields f{std::string(source_name)};

  Lock lock;
  lock.format = Format::pdm;
  lock.source_name = std::string(source_name);
  lock.created_by = "pdm";
  const toml::table* metadata = f.opt_table(doc, "metadata");
  if (!metadata) f.fail_at(doc, "missing [metadata] (is this a pdm.lock?)");
  check_lock_version(f, *metadata, lock);
  std::vector<std::string> strategy = f.string_array(*metadata, "strategy");
  if (!metadata->get("strategy") ||
      std::find(strategy.begin(), strategy.end(), "inherit_metadata") == strategy.end()) {
    // Without it the packages carry no groups or markers; pdm export refuses such a lock too.
    f.fail_at(
        metadata->get("strategy") ? *metadata->get("strategy") : static_cast<const toml::node&>(*metadata),
        "the lock was written without the inherit_metadata strategy, so its packages name no "
        "groups or markers; lock again with `pdm lock --strategy inherit_metadata`");
  }
  lock.content_hash = f.opt_string(*metadata, "content_hash").value_or("");
  if (const toml::array* targets = f.opt_array(*metadata, "targets")) {
    for (const toml::node& node : *targets)
      lock.environments.push_back(target_marker(f, f.as_table(node, "a lock target")));
  }

  std::vector<std::string> groups;
  for (const auto& g : f.string_array(*metadata, "groups")) add_unique(groups, pep::normalize_name(g));
  add_unique(groups, "default");

  const toml::array* packages = nullptr;
  if (const toml::node* node = doc.get("package")) {
    packages = node->as_array();
    if (!packages) f.fail_at(*node, "expected an array of tables for \"package\"");
  }
  std::vector<Package> with_extras;
  if (packages) {
    for (const toml::node& node : *packages) {
      const toml::table& t = f.as_table(node, "[[package]]");
      Package p = read_package(f, t);
      for (const auto& m : p.groups) add_unique(groups, m.group);
      if (f.string_array(t, "extras").empty()) {
        for (const auto& q : lock.packages) {
          if (q.name == p.name && q.version_text == p.version_text && q.source.kind == p.source.kind &&
              q.source.url == p.source.url && q.source.path == p.source.path)
            f.fail_at(node, fmt::format("duplicate [[package]] {} {} (also at {})", p.display_name,
                                        p.version_text, q.location));
        }
        lock.packages.push_back(std::move(p));
      } else {
        with_extras.push_back(std::move(p));
      }
    }
  }
  // `name[extra]` entries are the same distribution as the plain entry pdm also writes: their
  // groups go to it (one install per name). One without a plain entry stands for itself.
  for (auto& p : with_extras) {
    auto plain = std::find_if(lock.packages.begin(), lock.packages.end(), [&](const Package& q) {
      return q.name == p.name && q.version_text == p.version_text && q.source.kind == p.source.kind;
    });
    if (plain == lock.packages.end()) {
      lock.packages.push_back(std::move(p));
      continue;
    }
    for (auto& m : p.groups) {
      bool known = std::any_of(plain->groups.begin(), plain->groups.end(),
                               [&](const GroupMembership& g) { return g.group == m.group; });
      if (!known) plain->groups.push_back(std::move(m));
    }
  }

  ProjectGroups kinds;
  if (pyproject) kinds = read_pyproject(*pyproject, lock);
  // Files known by name come from the "pypi" source when the project replaces the default index.
  auto pypi = std::find_if(lock.sources.begin(), lock.sources.end(),
                           [](const Source& s) { return s.name == "pypi"; });
  if (pypi != lock.sources.end())
    for (auto& p : lock.packages)
      if (p.source.kind == SourceKind::index && p.source.url.empty()) p.source = *pypi;
  lock.default_groups = {"default"};
  for (const auto& g : groups) {
    // Without the project file a name may be either: pdm's -G takes both kinds alike.
    bool extra = kinds.extras.contains(g);
    bool group = kinds.groups.contains(g) || g == "default";
    if (!extra && !group) extra = group = true;
    if (group) lock.groups.push_back(Group{g, false, {}});
    if (extra) lock.extras.push_back(g);
  }
  return lock;
}

}  // namespace

bool looks_like_pdm_lock(std::string_view text) {
  bool metadata = false;
  for (std::string_view line : util::split(text, '\n')) {
    line = util::trim(line);
    if (line.starts_with("[")) metadata = line.starts_with("[metadata]");
    if (metadata && line.starts_with("lock_version")) return true;
  }
  return false;
}

Result<Lock> read_pdm_lock(std::string_view text, std::string_view source_name,
                           std::optional<PyprojectText> pyproject) {
  return detail::catch_errors([&] { return read(text, source_name, pyproject); });
}

}  // namespace strata::lock
