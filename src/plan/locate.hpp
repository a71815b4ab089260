#pragma once
// Locks that record a package's files only by their hashes (hashed requirements.txt,
// Pipfile.lock): each hash is matched against the files listed on the package's index pages
// (PEP 691 JSON / PEP 503 HTML, fetch::fetch_project_pages, the same pages fetch_all looks
// Poetry's file names up on) and the files in --find-links directories, and the artifact becomes
// that file (name, URL, size, the index's hashes). A reader makes its artifacts with
// lock::hash_only_artifact() (lock/model.hpp); prepare() calls locate_hashed_artifacts() on the selected
// packages before choosing wheels, so every later step sees ordinary artifacts with file names.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "fetch/auth.hpp"
#include "fetch/fetch.hpp"
#include "fetch/transport.hpp"
#include "lock/model.hpp"
#include "pep/version.hpp"
#include "plan/wheel_choice.hpp"
#include "util/error.hpp"

namespace strata::plan {

/// What locate_hashed_artifacts() did, for reports and tests.
struct LocateStats {
  std::size_t located = 0;          ///< hash-only artifacts matched to a file
  std::size_t from_cache = 0;       ///< of those, matched through `<cache>/located/`
  std::size_t from_find_links = 0;  ///< of those, matched to a --find-links file
  std::size_t pages = 0;            ///< project pages requested
  std::size_t downloaded = 0;       ///< of those, --find-links page links without a hash, downloaded
  std::vector<std::string> notes;   ///< hashes matched nowhere (dropped), one line per package
};

/// What the located files must suit (each optional): the target interpreter's version
/// (major.minor.micro, as pip compares it) against a file's Requires-Python (`requires-python` /
/// `data-requires-python` on the page), and the target's tags (which links of a `--find-links`
/// page without a hash are worth downloading).
struct LocateTarget {
  std::optional<pep::Version> python;
  const TagRanking* ranking = nullptr;
};

/// The LocateTarget of an interpreter version ("3.12.1", "3.13.0rc1": pip compares the release
/// only) and tag ranking.
LocateTarget locate_target(std::string_view interpreter_version, const TagRanking* ranking);

/// Replaces every hash-only artifact of `packages` by the file with that hash. Looked for, in
/// order: the --find-links directories of `options` (files named for the package's name and
/// version), the cache of earlier matches (`<options.cache_dir>/located/<sha256>.json`), and then
/// (unless `options.offline`) the package's index page — `package.source` (url / name), after
/// --index-url and --source overrides as fetch_all applies them — and each of
/// `lock.extra_index_urls` (requirements.txt `--extra-index-url`), all pages in parallel through
/// `transport`; the HTML pages of `lock.find_links` URLs (requirements.txt `--find-links https://…`)
/// are searched first, and with `lock.no_index` only they. A link on such a page without a hash
/// fragment, of the package's name and version, is downloaded into the cache and hashed (as pip
/// does) when the package has no located file the target can install: the best-ranked compatible
/// wheel of those links, else its source archive. A file whose Requires-Python excludes
/// `target.python` is skipped, as pip skips it; when that leaves none, the error (kind check) names
/// the file, its specifier and the interpreter. A located artifact has the index file's name, URL (a
/// --find-links file: its absolute path), size and hashes (the lock's hash among them). Packages without
/// hash-only artifacts are left as they are. A hash found nowhere is dropped with a note, as pip accepts any
/// one of the listed hashes. Errors, all at once (kind runtime): a package none of whose hashes is
/// found (naming the pages searched, and why a page could not be read), a matched file whose name
/// is another project's or version.
///
/// With `unlocated_too`, artifacts that have a file name and hashes but no URL or path (a
/// poetry.lock's `files`) are located the same way and get the index file's URL (`strata export
/// --format pylock` needs one for every file); the file found must have the locked name.
Result<void> locate_hashed_artifacts(std::vector<lock::Package>& packages, const lock::Lock& lock,
                                     const fetch::FetchOptions& options, fetch::HttpTransport& transport,
                                     fetch::CredentialResolver& credentials, LocateStats& stats,
                                     bool unlocated_too = false, const LocateTarget& target = {});

/// True when any of `packages` has a hash-only artifact (with `unlocated_too`: any artifact
/// without URL or path), so that locate_hashed_artifacts() has something to do.
bool needs_locating(const std::vector<lock::Package>& packages, bool unlocated_too = false);

}  // namespace strata::plan
