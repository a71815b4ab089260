#pragma once
// Probing a target interpreter: run it once with an embedded script, read back JSON, cache the
// answer per interpreter (path + mtime + size).

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pep/marker.hpp"
#include "pep/tags.hpp"
#include "util/error.hpp"

namespace strata::env {

/// What strata knows about a target interpreter.
struct Interpreter {
  std::filesystem::path executable;       ///< as given (not resolved), absolute
  std::filesystem::path real_executable;  ///< symlinks resolved (sys.executable realpath)
  std::string implementation;             ///< sys.implementation.name
  std::string version;                    ///< python_full_version, e.g. "3.11.7"
  int major = 0, minor = 0, micro = 0;
  std::filesystem::path prefix, base_prefix, exec_prefix, base_exec_prefix;
  bool in_venv = false;  ///< sys.prefix != sys.base_prefix
  /// sysconfig install scheme paths for this interpreter: purelib, platlib, scripts, data,
  /// include, platinclude, stdlib, platstdlib, headers (pip's "headers" location).
  std::map<std::string, std::string, std::less<>> paths;
  /// Directories on sys.path that hold installed distributions (site dirs, user site if on).
  std::vector<std::filesystem::path> site_dirs;
  pep::MarkerEnvironment markers;  ///< packaging.markers.default_environment()
  pep::TagEnvironment tag_env;
};

struct ProbeOptions {
  /// Directory for cached probe results; empty disables the cache.
  std::filesystem::path cache_dir;
};

/// Probes `python` (a path, or a name found on PATH). The error names the interpreter.
Result<Interpreter> probe_interpreter(const std::string& python, const ProbeOptions& options);

/// The interpreter as JSON (the shape `strata debug --json` prints under "interpreter").
nlohmann::json to_json(const Interpreter& interpreter);

}  // namespace strata::env
