#pragma once
// Building one wheel from a verified source tree with PEP 517: an isolated build environment (a
// venv of the target's interpreter whose build requirements strata chooses by a stated rule), a
// hook runner of strata's own run by that environment's python, a reproducible environment, and
// a cache of built wheels keyed by the source, the target's tags and the build requirements used.
//
// Rule for build requirements (they are not locked): wheels only; for every requirement the
// newest version on the index that satisfies every specifier seen for the project, is not yanked,
// fits the build interpreter's requires-python and tags; their Requires-Dist followed the same way
// (markers evaluated for the build interpreter). `--build-constraints FILE` pins them instead.
// A lock's specifier constraints (uv.lock `[manifest] build-constraints`) add their specifier to
// the project's when that project is required and their marker holds; they never add a project.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "env/probe.hpp"
#include "fetch/auth.hpp"
#include "fetch/fetch.hpp"
#include "fetch/transport.hpp"
#include "util/error.hpp"

namespace strata::build {

/// SOURCE_DATE_EPOCH for sources without a natural time (git trees, directories):
/// 1980-01-01T00:00:00Z, the earliest time a zip archive (a wheel) can hold.
inline constexpr std::int64_t kDefaultSourceDateEpoch = 315532800;

/// What to build: an unpacked, verified source tree.
struct BuildSource {
  /// Directory holding pyproject.toml or setup.py (subdirectory already applied). Only read:
  /// the build runs in a copy.
  std::filesystem::path tree;
  /// Identity of the source for the cache: "sha256:<hex>" of the sdist/archive,
  /// "git:<commit>[:<subdir>]", or "dir:<sha256 of the tree's files>" for paths.
  std::string source_key;
  std::string name;     ///< normalized, as locked
  std::string version;  ///< as locked ("" for a directory source whose version the lock does not pin)
  /// SOURCE_DATE_EPOCH: the sdist's newest member mtime; nullopt: kDefaultSourceDateEpoch.
  std::optional<std::int64_t> source_date_epoch;
  /// PEP 660: build_editable in `tree` itself (the user's directory, which the backend may write
  /// into, e.g. *.egg-info), not in a copy. The wheel points at `tree`, so it is never taken from
  /// or put in the built-wheel cache: each such build runs.
  bool editable = false;
};

/// A specifier constraint on a build requirement (uv.lock `[manifest] build-constraints`): when a
/// build requirement of that name is chosen, its version must also satisfy this (if the marker
/// holds for the build interpreter). It never adds a requirement.
struct SpecifierConstraint {
  std::string text;    ///< PEP 508, e.g. "wheel<0.45 ; python_full_version >= '3.9'"
  std::string origin;  ///< for conflict messages, e.g. "uv.lock [manifest] build-constraints"
};

/// How to build.
struct BuildOptions {
  env::Interpreter interpreter;      ///< the target interpreter (builds run with it)
  std::filesystem::path cache_root;  ///< <cache>: build envs and built wheels live under it
  fetch::FetchOptions fetch;         ///< index URL, find-links, offline ... for build requirements
  /// --build-constraints FILE: a pinned, hashed requirements file (`pip-compile --generate-hashes`).
  std::optional<std::filesystem::path> build_constraints;
  /// The lock's specifier constraints on build requirements.
  std::vector<SpecifierConstraint> lock_constraints;
  /// false (--no-build-isolation[-package]): build with the target interpreter itself, nothing
  /// installed for the build.
  bool isolation = true;
  /// Only for isolation == false: the target's site-packages when the interpreter does not
  /// already see it (--prefix/--target installs); empty: none added.
  std::filesystem::path target_site;
  /// Where full build logs go; empty: <cache_root>/builds/logs.
  std::filesystem::path log_dir;
  /// A build (all hooks together) is killed after this long.
  std::chrono::seconds timeout{3600};
};

/// One wheel, built or found in the built-wheel cache.
struct BuiltWheel {
  std::filesystem::path wheel;  ///< the built wheel, in the built-wheel cache (read-only: copy or link it)
  std::string filename;
  std::string sha256;  ///< lower-case hex
  /// "name==version" of every distribution installed in the build environment, sorted
  /// (empty without isolation).
  std::vector<std::string> build_requirements;
  std::string backend;                    ///< build-backend used, e.g. "setuptools.build_meta:__legacy__"
  bool cached = false;                    ///< true: found in the cache, no build ran
  bool editable = false;                  ///< built by build_editable (PEP 660)
  std::filesystem::path log;              ///< the build's full log (empty when cached)
  std::chrono::milliseconds duration{0};  ///< wall time of the build (0 when cached)
};

/// Receives build events; every method has a no-op default. Called from the building thread.
class BuildObserver {
 public:
  virtual ~BuildObserver() = default;
  /// A build is about to run (after the cache missed).
  virtual void on_build_start(const BuildSource& /*source*/) {}
  /// A detail for verbose output (requirements chosen, cache hits, hooks run).
  virtual void on_detail(std::string_view /*message*/) {}
};

namespace detail {
struct BuilderState;
}

/// Builds wheels for one target. build() may be called from several threads at once (network
/// access for build requirements is serialized inside; the caller bounds how many run at once:
/// --build-jobs). Several processes may share the cache.
class Builder {
 public:
  /// Does no I/O; `transport` and `credentials` must outlive the builder.
  Builder(BuildOptions options, fetch::HttpTransport& transport, fetch::CredentialResolver& credentials);
  ~Builder();
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  /// Builds (or finds in the cache, keyed by source_key + target tags + build requirements used;
  /// an editable source always builds, its wheel under <cache>/builds/editable/<key>/) one wheel, and checks
  /// that its file name and METADATA name and version equal the locked ones. A failed build's error names the
  /// package, version and backend, quotes the last lines of its output and names the full log; nothing
  /// outside the cache changes.
  Result<BuiltWheel> build(const BuildSource& source, BuildObserver& observer);

  const BuildOptions& options() const;

 private:
  std::unique_ptr<detail::BuilderState> state_;
};

/// One build with a builder of its own (see Builder::build).
Result<BuiltWheel> build_wheel(const BuildSource& source, const BuildOptions& options,
                               fetch::HttpTransport& transport, fetch::CredentialResolver& credentials,
                               BuildObserver& observer);

/// One pinned requirement of a --build-constraints file.
struct BuildConstraint {
  std::string name;                 ///< normalized
  std::string version;              ///< the pinned version (as written after "==")
  std::vector<std::string> sha256;  ///< allowed hashes, lower-case hex (at least one)
  std::string marker;  ///< the line's environment marker ("" when none): the pin applies where it holds
};

/// Parses a --build-constraints file (`name==version --hash=sha256:...`, backslash
/// continuation lines, comments). Every requirement must pin with "==" and carry a sha256 hash; errors name
/// source_name:line.
Result<std::vector<BuildConstraint>> parse_build_constraints(std::string_view text,
                                                             std::string_view source_name);
/// Reads and parses a --build-constraints file; errors name the file.
Result<std::vector<BuildConstraint>> load_build_constraints(const std::filesystem::path& file);

}  // namespace strata::build
