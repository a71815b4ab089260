#pragma once
// Creating virtual environments natively, laid out as `python -m venv --without-pip` does.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "env/probe.hpp"
#include "util/error.hpp"

namespace strata::env {

/// A virtual environment strata created or found.
struct Venv {
  std::filesystem::path dir;     ///< absolute
  std::filesystem::path python;  ///< dir/bin/python
  bool created = false;          ///< false when an existing venv was reused (and completed)
};

/// True when `dir` holds a pyvenv.cfg.
bool is_venv(const std::filesystem::path& dir);

/// The Python version a venv's pyvenv.cfg records ("version", else "version_info"), "" when
/// it records none or cannot be read.
std::string venv_python_version(const std::filesystem::path& dir);

/// True when `path` is one of the files that make the virtual environment `dir` work (its
/// pyvenv.cfg, the bin/python* interpreter links, the bin/activate* scripts); false when `dir` is
/// not a venv. Paths compare lexically.
bool is_venv_file(const std::filesystem::path& dir, const std::filesystem::path& path);

/// One piece of a new virtual environment.
struct VenvEntry {
  enum class Kind { directory, file, symlink };
  std::filesystem::path path;  ///< absolute, under the venv
  Kind kind = Kind::directory;
  std::string content;  ///< file: its text; symlink: the target
};

/// The pieces of a new venv in `dir` (absolute, normal) for `base`, in the order create_venv makes
/// them (pyvenv.cfg last): `exe` is the interpreter it links to, `real` that file resolved, and
/// `activate_template` the base's venv/scripts/common/activate (nullopt: strata's own copy).
/// `strata image` writes them into a layer.
std::vector<VenvEntry> venv_layout(const std::filesystem::path& dir, const Interpreter& base,
                                   const std::filesystem::path& exe, const std::filesystem::path& real,
                                   const std::optional<std::string>& activate_template);

/// Creates a virtual environment in `dir` for `base` (a probed interpreter; when it is itself in a
/// venv, that venv's base is used): pyvenv.cfg (home, include-system-site-packages = false,
/// version, and for 3.11+ executable and command), bin/python, python3 and python3.X links,
/// lib/pythonX.Y/site-packages, include/, lib64 -> lib on 64-bit Linux, bin/activate (from the
/// base's venv template when it has one), .gitignore for 3.13+. On an existing venv of the same
/// Python X.Y it only adds what is missing, and so it does on what a creator killed before it
/// wrote pyvenv.cfg left (marked by .strata/venv-incomplete, there until pyvenv.cfg is). Fails
/// when `dir` exists and is neither a venv, an empty directory nor such a leftover, or is a venv
/// of another Python version.
Result<Venv> create_venv(const std::filesystem::path& dir, const Interpreter& base);

}  // namespace strata::env
