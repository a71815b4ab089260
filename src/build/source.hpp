#pragma once
// Source trees to build from (SPEC "Builds"): a verified sdist or archive unpacked once into the
// cache, a local directory copied under a key of its content, and (git.hpp) a git checkout at the
// locked commit. Every tree lives under <cache>/sources/ and is never written once it is there.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.hpp"
#include "wheel/archive.hpp"

namespace strata::build {

/// A source tree ready to build.
struct SourceTree {
  std::filesystem::path tree;  ///< holds pyproject.toml or setup.py (the subdirectory applied)
  std::string source_key;      ///< "sha256:<hex>", "git:<commit>[:<subdir>]" or "dir:<hex>"
  /// An archive's newest member time (its SOURCE_DATE_EPOCH); nullopt for git and directories.
  std::optional<std::int64_t> source_date_epoch;
};

/// The source tree of a verified archive (`sha256_hex` is its checked hash): extracted once into
/// <cache_root>/sources/archive/<sha256>/ with the refusals and limits of a wheel; an archive whose
/// members share one top directory (every sdist) has that directory as its root; the newest member
/// time is kept beside the tree (source_date_epoch). `subdirectory`
/// ("" for none) is applied. The error names the archive.
Result<SourceTree> archive_source(const std::filesystem::path& archive, std::string_view sha256_hex,
                                  std::string_view subdirectory, const std::filesystem::path& cache_root,
                                  const wheel::ArchiveLimits& limits);

/// The source tree of a local directory: its files hashed ("dir:<hex>") and, when `copy`, copied
/// once into <cache_root>/sources/dir/<hex>/ so builds never write into the user's tree (an
/// editable install builds in place: `copy` false gives `dir` itself). VCS metadata, caches and
/// virtual environments are left out of both (see kIgnoredDirs in source.cpp).
Result<SourceTree> directory_source(const std::filesystem::path& dir, std::string_view subdirectory,
                                    const std::filesystem::path& cache_root, bool copy);

/// sha256 (hex) over a directory's files: every relative path, its type, executable bit and the
/// content's sha256 (a link's target), in sorted order, with the same directories left out as
/// directory_source.
Result<std::string> hash_tree(const std::filesystem::path& dir);

/// The identity of an editable (PEP 660) install of `tree` (absolute): "editable:<hex>", a sha256
/// over its path and its build configuration (pyproject.toml, setup.cfg, setup.py), not over its
/// other files: editing the sources needs no reinstall, changing the project's metadata does.
Result<std::string> editable_key(const std::filesystem::path& tree);

/// `base / subdirectory` when `subdirectory` is a relative path that stays inside `base` and the
/// result holds pyproject.toml or setup.py; `what` names the source in errors.
Result<std::filesystem::path> project_dir(const std::filesystem::path& base, std::string_view subdirectory,
                                          std::string_view what);

/// The version a source tree declares statically: pyproject.toml's [project] version (unless
/// "version" is dynamic) or [tool.poetry] version; the error names the file and says why.
Result<std::string> static_version(const std::filesystem::path& tree);

/// Moves a finished temporary directory to `dir`; when another process put `dir` there first,
/// theirs is kept and `tmp` removed. Both must be on one file system.
Result<void> publish_dir(const std::filesystem::path& tmp, const std::filesystem::path& dir);

/// A fresh, uniquely named temporary directory inside `parent` (created).
Result<std::filesystem::path> make_temp_dir(const std::filesystem::path& parent);

}  // namespace strata::build
