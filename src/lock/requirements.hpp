#pragma once
// Hashed requirements files, as `pip-compile --generate-hashes` and `uv pip compile
// --generate-hashes` write them: every requirement pinned `==` with its `--hash` options, PEP 508
// markers, `-r` / `-c` includes (relative to the including file), `--index-url`,
// `--extra-index-url`, `--find-links`, line continuations and comments. strata does not resolve:
// an unpinned or unhashed requirement is an error naming file:line. Every line is selected
// (there are no groups), filtered by its marker for the target. The files are recorded only by
// hash (lock::hash_only_artifact); plan/locate.hpp finds them on the index pages.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "lock/model.hpp"
#include "util/error.hpp"

namespace strata::lock {

/// Reads one file's text (util::read_file in production; a map in tests).
using FileReader = std::function<Result<std::string>(const std::filesystem::path&)>;

/// Reads the requirements file `path` and every file its `-r`/`-c` lines include. Errors are
/// usage errors prefixed "file:line:" (an include cycle, an option strata does not know, an
/// editable, VCS or unhashed requirement, a pin that is not `==`, a constraint a pin violates).
/// The lock has format requirements, one package per requirement line (the same name may appear
/// on several lines with different markers), each an index package of the file's `--index-url`
/// ("" = the default index) whose artifacts are its hashes; `--extra-index-url`s go to
/// `extra_index_urls`, `--find-links` to `find_links` (a relative directory resolved against the
/// file's directory when it exists there, as pip does).
Result<Lock> read_requirements(const std::filesystem::path& path, const FileReader& read);

/// Whether a file name is a requirements file's: `requirements*.txt` (e.g. requirements-dev.txt).
bool is_requirements_name(std::string_view filename);

/// Whether text looks like a hashed requirements file (a `--hash=` option on some line), for
/// files whose name does not tell.
bool looks_like_requirements(std::string_view text);

}  // namespace strata::lock
