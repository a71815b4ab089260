#pragma once
// Probing a target interpreter: run it once with an embedded script, read back JSON, cache the
// answer per interpreter (path + mtime + size).

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pep/marker.hpp"
#include "pep/tags.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

namespace strata::env {

/// What strata knows about a target interpreter.
struct Interpreter {
  std::filesystem::path executable;       ///< as given (not resolved), absolute
  std::filesystem::path sys_executable;   ///< sys.executable as the interpreter reports it
  std::filesystem::path real_executable;  ///< symlinks resolved (sys.executable realpath)
  std::string implementation;             ///< sys.implementation.name
  std::string version;                    ///< python_full_version, e.g. "3.11.7"
  int major = 0, minor = 0, micro = 0;
  std::filesystem::path prefix, base_prefix, exec_prefix, base_exec_prefix;
  bool in_venv = false;  ///< sys.prefix != sys.base_prefix
  /// sysconfig install scheme paths for this interpreter: purelib, platlib, scripts, data,
  /// include, platinclude, stdlib, platstdlib, headers (pip's "headers" location without the
  /// project name: <prefix>/include/site/pythonX.Y in a venv, else sysconfig's include).
  std::map<std::string, std::string, std::less<>> paths;
  /// Directories on sys.path that hold installed distributions (site dirs, user site if on),
  /// in sys.path order.
  std::vector<std::filesystem::path> site_dirs;
  /// packaging.markers.default_environment(), verbatim (python_full_version may end in "+"
  /// for untagged builds; packaging repairs that only when evaluating).
  pep::MarkerEnvironment markers;
  pep::TagEnvironment tag_env;
};

/// Runs a command with stdin input; util::run_process unless a test substitutes a fake.
using ProcessRunner = std::function<Result<util::ProcessOutput>(const std::vector<std::string>& argv,
                                                                const std::string& input)>;

struct ProbeOptions {
  /// Directory for cached probe results; empty disables the cache.
  std::filesystem::path cache_dir;
  /// How the interpreter is run; empty means util::run_process.
  ProcessRunner run;
};

/// Probes `python` (a path, or a name found on PATH). The error names the interpreter.
/// Results are cached under options.cache_dir keyed by the interpreter's path, its resolved
/// file's mtime and size (and the venv's pyvenv.cfg); script wrappers such as pyenv shims are
/// never cached because what they run depends on the environment.
Result<Interpreter> probe_interpreter(const std::string& python, const ProbeOptions& options);

/// The interpreter as JSON (the shape `strata debug --json` prints under "interpreter").
nlohmann::json to_json(const Interpreter& interpreter);

namespace detail {

/// The Python script the probe runs (works on CPython 3.6+ and PyPy 3).
std::string_view probe_script();

/// Parses the probe script's JSON output; `subject` names the interpreter in errors.
/// Fills every field but `executable`.
Result<Interpreter> parse_probe_output(std::string_view text, std::string_view subject);

/// Finds `python` on PATH (when it has no slash) and makes it absolute; checks it exists and is
/// executable. The error names the interpreter.
Result<std::filesystem::path> resolve_interpreter(const std::string& python);

}  // namespace detail

}  // namespace strata::env
