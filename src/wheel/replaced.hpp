#pragma once
// What committing a wheel over another version removes, as pure functions over paths: the rules
// commit_wheel applies on disk, shared with `strata image`, which removes the same files from a
// base image's layers with whiteouts.

#include <filesystem>
#include <set>
#include <string_view>
#include <vector>

#include "wheel/record.hpp"

namespace strata::wheel {

/// Whether `path` is `root` or below it (lexically).
bool is_within(const std::filesystem::path& path, const std::filesystem::path& root);

/// The files of the replaced distribution whose .dist-info is `old_dist_info` (its RECORD `rows`)
/// that go once the new version is committed: inside one of `roots` (the scheme's directories),
/// outside the .dist-info itself (which goes whole), and not overwritten by the new version
/// (`new_destinations`). Each removed `.py` takes its pycs (is_bytecode_of) with it, and a
/// directory left empty inside the roots goes too.
std::vector<std::filesystem::path> replaced_files(const std::filesystem::path& old_dist_info,
                                                  const std::vector<RecordRow>& rows,
                                                  const std::set<std::filesystem::path>& new_destinations,
                                                  const std::vector<std::filesystem::path>& roots);

/// Whether the file named `pyc_name` in `<dir of py>/__pycache__/` is bytecode of `py`
/// ("six.py" → "six.cpython-311.pyc", "six.cpython-311.opt-1.pyc").
bool is_bytecode_of(std::string_view pyc_name, const std::filesystem::path& py);

}  // namespace strata::wheel
