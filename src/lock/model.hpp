#pragma once
// The one in-memory lock model every reader (pylock.toml, poetry.lock + pyproject.toml, uv.lock,
// pdm.lock, Pipfile.lock) produces,
// and the selection of what to install from it for one target.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pep/marker.hpp"
#include "pep/version.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// Which file format a lock was read from.
enum class Format { poetry, pylock, manifest, uv, pdm, pipfile, requirements };

/// The format's name in reports (`--json` "format"): "poetry", "pylock", "manifest", "uv", "pdm",
/// "pipfile" or "requirements".
constexpr const char* format_name(Format format) {
  switch (format) {
    case Format::poetry:
      return "poetry";
    case Format::pylock:
      return "pylock";
    case Format::manifest:
      return "manifest";
    case Format::uv:
      return "uv";
    case Format::pdm:
      return "pdm";
    case Format::pipfile:
      return "pipfile";
    case Format::requirements:
      return "requirements";
  }
  return "unknown";
}

/// Where a package's artifacts come from.
enum class SourceKind {
  index,      ///< a package index: the default one (PyPI) when `name` and `url` are empty
  url,        ///< a direct URL to one archive
  file,       ///< a local archive file
  directory,  ///< a local source tree (unsupported: needs a build)
  vcs,        ///< a version-control checkout (unsupported: needs a build)
};

/// A package's origin as the lock records it.
struct Source {
  SourceKind kind = SourceKind::index;
  std::string name;  ///< index name (Poetry `[package.source] reference` / `[[tool.poetry.source]]`)
  std::string url;   ///< index URL, archive URL or repository URL; empty for the default index
  std::string path;  ///< file or directory path as written (relative to the lock's directory)
  std::string vcs;   ///< "git" etc. for kind vcs
  std::string requested_revision;  ///< branch/tag/rev as asked for
  std::string commit_id;           ///< resolved commit
  std::string subdirectory;
  bool editable = false;  ///< Poetry `develop = true` / pylock `editable`
};

/// One distribution file a lock names for a package.
struct Artifact {
  enum class Kind { wheel, sdist };
  Kind kind = Kind::wheel;
  std::string filename;
  std::string url;   ///< empty when the lock does not say (then: the package's index)
  std::string path;  ///< local path as written, empty if none
  std::map<std::string, std::string> hashes;  ///< algorithm -> lowercase hex
  std::optional<std::uint64_t> size;
};

/// An artifact a lock knows only by one hash (requirements.txt `--hash=sha256:…`, Pipfile.lock
/// `hashes`): no file name, URL or path; `hashes` holds {algorithm: hex}, both lower-cased. A
/// reader lists one per hash, in the lock's order; plan::locate_hashed_artifacts (plan/locate.hpp)
/// turns them into the index's files before wheels are chosen.
Artifact hash_only_artifact(std::string_view algorithm, std::string_view hex);

/// True for an artifact with hashes but no file name, URL or path (hash_only_artifact()).
bool is_hash_only(const Artifact& artifact);

/// A dependency edge (Poetry `[package.dependencies]`, pyproject roots) or a root requirement.
struct Dependency {
  std::string name;                 ///< normalized
  std::string display_name;         ///< as written
  std::vector<std::string> extras;  ///< normalized
  std::string constraint;           ///< version constraint as written (Poetry syntax or PEP 440); "" = any
  std::optional<pep::Marker> marker;
  std::string python;     ///< Poetry `python = "..."` restriction, "" = none
  std::string platform;   ///< Poetry `platform = "..."` restriction (sys_platform), "" = none
  bool optional = false;  ///< only installed when an extra asks for it
  bool direct = false;    ///< url/path/git dependency: any locked version matches
  /// uv.lock: the version and source (Package::source_key) an edge names when the name is locked
  /// more than once; "" when the name is unambiguous.
  std::string locked_version;
  std::string source_key;
};

/// Membership of a package in a group, with the marker under which that group needs it.
struct GroupMembership {
  std::string group;  ///< normalized
  std::optional<pep::Marker> marker;
};

/// One locked package (one name may appear several times at different versions).
struct Package {
  std::string name;          ///< normalized (PEP 503)
  std::string display_name;  ///< as written
  pep::Version version;
  std::string version_text;  ///< as written
  Source source;
  std::vector<Artifact> artifacts;
  std::vector<Dependency> dependencies;
  /// Package extras: extra name (normalized) -> names (normalized) of the dependencies it enables.
  std::map<std::string, std::vector<std::string>> extras;
  /// Poetry 2.1 `groups` (+ `markers`), pdm.lock `groups` (each with the package's `marker`);
  /// empty in other formats.
  std::vector<GroupMembership> groups;
  std::optional<std::string> category;  ///< Poetry 1.x `category` ("main" / "dev")
  std::optional<pep::Marker> marker;    ///< pylock `marker`; Poetry 1.0 `marker`
  std::string requires_python;          ///< pylock requires-python (PEP 440) or Poetry python-versions
  bool optional = false;                ///< Poetry `optional`
  std::string location;                 ///< "file:line:col" of the entry, for messages
  /// uv.lock: `[package.optional-dependencies]` and `[package.dev-dependencies]` (dependency
  /// groups), name (normalized) -> edges; `resolution-markers` (the forks this version is in);
  /// the source as a comparable key; a `virtual` source (never installed).
  std::map<std::string, std::vector<Dependency>> optional_dependencies;
  std::map<std::string, std::vector<Dependency>> group_dependencies;
  std::vector<pep::Marker> resolution_markers;
  std::string source_key;
  bool virtual_source = false;
};

/// uv.lock `conflicts`: one item of a set whose members cannot be activated together.
struct ConflictItem {
  std::string package;  ///< normalized
  std::string extra;    ///< normalized; "" unless an extra
  std::string group;    ///< normalized; "" unless a group (both empty: the project itself)
};

/// A dependency group a lock or its project declares.
struct Group {
  std::string name;  ///< normalized
  bool optional = false;
  std::vector<Dependency> roots;  ///< the project's requirements in this group (Poetry)
};

/// A requirements.txt `-c` constraint line with a marker (the ones without are checked on reading).
struct MarkedConstraint {
  std::string name;       ///< normalized
  std::string specifier;  ///< PEP 440, as written
  pep::Marker marker;
  std::string text;      ///< the requirement as written, for messages
  std::string location;  ///< "file:line"
};

/// A whole lock, whatever format it came from.
struct Lock {
  Format format = Format::pylock;
  std::string source_name;                ///< the lock's file name for messages
  std::string lock_version;               ///< `lock-version` as written
  std::string created_by;                 ///< pylock `created-by`; Poetry: the version in the header comment
  std::string requires_python;            ///< pylock requires-python; Poetry project `python` constraint
  std::vector<pep::Marker> environments;  ///< pylock `environments`; pdm.lock `targets` as markers
  std::vector<std::string> extras;        ///< extras the lock knows (normalized)
  std::vector<std::string> default_groups;  ///< groups selected when none are named
  std::vector<Group> groups;                ///< groups the lock knows, in declaration order
  /// Poetry `[extras]`: root extra -> package names it pulls in (normalized).
  std::map<std::string, std::vector<std::string>> root_extras;
  std::vector<Source> sources;  ///< named indexes (Poetry `[[tool.poetry.source]]`, pylock `index`)
  /// Indexes searched after a package's own for files the lock knows only by hash
  /// (requirements.txt `--extra-index-url`; plan/locate.hpp).
  std::vector<std::string> extra_index_urls;
  /// requirements.txt `--find-links` values (directories resolved against the file's directory
  /// when they exist there, or http(s) URLs of HTML pages of links): searched for files known
  /// only by hash.
  std::vector<std::string> find_links;
  /// requirements.txt `--no-index`: files known only by hash are looked for in `find_links` only.
  bool no_index = false;
  /// requirements.txt `-c` constraints with a marker: checked against the selected pins for the
  /// target when the marker holds (lock/select.cpp).
  std::vector<MarkedConstraint> marked_constraints;
  std::string
      content_hash;  ///< Poetry `[metadata] content-hash`, pdm `content_hash`, Pipfile.lock `_meta.hash`
  std::string project_name;         ///< normalized root project name, "" if unknown
  std::string layer;                ///< a layer manifest's layer name (format manifest), else ""
  std::string layer_project;        ///< a layer manifest's project (its plan's owner), "" if it names none
  bool has_project = false;         ///< a pyproject.toml was read alongside the lock
  bool groups_and_markers = false;  ///< Poetry lock 2.1: packages carry `groups` and `markers`
  std::vector<Package> packages;
  /// uv.lock `[manifest]`: workspace members, requirements and dependency groups that belong to
  /// the workspace rather than a member (a root pyproject.toml without `[project]`); `conflicts`.
  std::vector<std::string> members;
  std::vector<Dependency> manifest_requirements;
  std::map<std::string, std::vector<Dependency>> manifest_groups;
  /// uv.lock `[manifest] build-constraints`: specifiers (`constraint`, with `marker`) a build
  /// requirement of that name must also satisfy; they never add a requirement.
  std::vector<Dependency> build_constraints;
  std::vector<std::vector<ConflictItem>> conflicts;
};

/// What the user asked to install and for which target (plain data; no probing here).
struct SelectionRequest {
  std::vector<std::string> only;
  std::vector<std::string> with;
  std::vector<std::string> without;
  std::vector<std::string> extras;
  bool all_extras = false;
  /// uv.lock workspaces: the members to install (`uv sync --package`), or all of them.
  std::vector<std::string> packages;
  bool all_packages = false;
  pep::MarkerEnvironment environment;  ///< the target's marker variables
  std::string python_full_version;     ///< e.g. "3.11.7"
};

/// A package left out of the selection, and why.
struct Exclusion {
  std::string name;  ///< normalized
  std::string version;
  std::string reason;
};

/// The packages to install and every other package with the reason it was left out.
struct Selection {
  std::vector<Package> packages;  ///< in lock order
  std::vector<Exclusion> excluded;
  std::vector<std::string> groups;  ///< the groups that were selected (normalized)
  std::vector<std::string> extras;  ///< the extras that were selected (normalized)
};

/// Selects what to install for the target. Unknown groups or extras are usage errors naming the
/// ones that exist; a target outside the lock's requires-python or environments is a check error.
Result<Selection> select(const Lock& lock, const SelectionRequest& request);

/// False for sources strata cannot install without building (sdist-only, directory, vcs).
bool is_installable(const Package& package);

/// "index", "url", "file", "directory" or "vcs".
const char* to_string(SourceKind kind);

}  // namespace strata::lock
