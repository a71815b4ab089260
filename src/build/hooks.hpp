#pragma once
// Running PEP 517 hooks: a small runner script of strata's own, run by the build environment's
// python in a subprocess (the backend is never imported in strata's process); the result comes
// back in a JSON file, the backend's output goes to the build log.

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace strata::build::detail {

/// The [build-system] table of a source tree, defaults applied.
struct BuildSystem {
  std::vector<std::string> requires_;  ///< PEP 508 strings
  std::string backend;                 ///< "module:object"
  std::vector<std::string> backend_path;
  bool from_pyproject = false;  ///< false: setup.py-only (or no [build-system]): the defaults
};

/// Reads `tree`/pyproject.toml (a setup.py-only tree gets setuptools>=40.8.0 and wheel with the
/// `setuptools.build_meta:__legacy__` backend, as pip does). Errors name the file.
Result<BuildSystem> read_build_system(const std::filesystem::path& tree);

/// One hook invocation.
struct HookCall {
  std::filesystem::path python;  ///< the build environment's interpreter
  /// "get_requires_for_build_wheel", "build_wheel", or (PEP 660) "get_requires_for_build_editable",
  /// "build_editable" (a backend without it: an error that says to use --no-editable)
  std::string hook;
  const BuildSystem* system = nullptr;
  std::filesystem::path tree;             ///< working directory (the build copy)
  std::filesystem::path wheel_directory;  ///< build_wheel and build_editable only
  std::vector<std::string> extra_path;    ///< prepended to sys.path after backend-path
  std::vector<std::string> env;           ///< the complete environment
  std::filesystem::path scratch;          ///< where the result file is written
  std::filesystem::path log;              ///< output appended here
  std::chrono::milliseconds timeout{0};
};

/// How a hook ended: its JSON return value, or why not.
struct HookResult {
  bool ok = false;
  bool timed_out = false;
  int exit_code = 0;
  nlohmann::json value;  ///< the hook's return value when ok
  std::string error;     ///< the runner's description when not ok ("" when it wrote none)
};

/// Runs one hook; fails only when the runner cannot be started.
Result<HookResult> run_hook(const HookCall& call);

/// The runner script (for tests).
std::string_view hook_runner_script();

}  // namespace strata::build::detail
