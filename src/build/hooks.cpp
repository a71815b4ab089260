#include "build/hooks.hpp"

#include <fstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "lock/toml_read.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace strata::build::detail {
namespace {

namespace fs = std::filesystem;

// Runs one hook as PEP 517 describes: cwd is the source tree, which is not on sys.path unless
// backend-path says so; a backend loaded through backend-path must come from there. Writes
// {"return": value} or {"error": kind, "message": text} to the result file, atomically.
constexpr std::string_view kRunner = R"PY(
import json, os, sys, traceback


def write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def main():
    request = json.loads(sys.argv[1])
    out = request["out"]
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    backend_path = [os.path.abspath(p) for p in request.get("backend_path") or []]
    sys.path[:0] = backend_path + list(request.get("extra_path") or [])
    module_name, _, attrs = request["backend"].partition(":")
    try:
        import importlib
        backend = importlib.import_module(module_name.strip())
    except Exception as e:
        traceback.print_exc()
        write(out, {"error": "backend-unavailable",
                    "message": "cannot import the build backend %s: %s: %s" % (module_name, type(e).__name__, e)})
        return 1
    if backend_path:
        where = os.path.abspath(getattr(backend, "__file__", None) or "")
        if not any(where.startswith(os.path.join(p, "")) for p in backend_path):
            write(out, {"error": "backend-invalid",
                        "message": "backend %s was loaded from %s, not from backend-path %s"
                        % (module_name, where, request.get("backend_path"))})
            return 1
    for attr in [a for a in attrs.strip().split(".") if a]:
        backend = getattr(backend, attr)
    hook = request["hook"]
    try:
        if hook in ("get_requires_for_build_wheel", "get_requires_for_build_editable"):
            fn = getattr(backend, hook, None)
            value = list(fn(None)) if fn is not None else []
        elif hook == "build_wheel":
            value = backend.build_wheel(request["wheel_directory"], None, None)
        elif hook == "build_editable":
            fn = getattr(backend, hook, None)
            if fn is None:
                write(out, {"error": "editable-unsupported",
                            "message": "the build backend %s has no build_editable hook (PEP 660): it cannot "
                            "install editable; use --no-editable" % request["backend"]})
                return 1
            value = fn(request["wheel_directory"], None, None)
        else:
            raise SystemExit("unknown hook " + hook)
    except BaseException as e:
        traceback.print_exc()
        write(out, {"error": "hook-failed", "message": "%s: %s" % (type(e).__name__, e)})
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    write(out, {"return": value})
    return 0


sys.exit(main())
)PY";

}  // namespace

std::string_view hook_runner_script() { return kRunner; }

Result<BuildSystem> read_build_system(const fs::path& tree) {
  BuildSystem legacy{{"setuptools>=40.8.0", "wheel"}, "setuptools.build_meta:__legacy__", {}, false};
  fs::path pyproject = tree / "pyproject.toml";
  std::error_code ec;
  if (!fs::exists(pyproject, ec)) {
    if (!fs::exists(tree / "setup.py", ec))
      return fail(
          ErrorKind::runtime,
          fmt::format("{}: neither pyproject.toml nor setup.py: not a Python source tree", tree.string()));
    return legacy;
  }
  auto text = util::read_file(pyproject);
  if (!text) return std::unexpected(text.error());
  auto parsed = lock::detail::parse_toml(*text, pyproject.string());
  if (!parsed) return std::unexpected(parsed.error());
  const toml::table& doc = *parsed;
  const toml::table* system = doc["build-system"].as_table();
  if (!system) return legacy;
  BuildSystem out;
  out.from_pyproject = true;
  const toml::array* requires_ = (*system)["requires"].as_array();
  if (!requires_)
    return fail(ErrorKind::runtime,
                fmt::format("{}: [build-system] has no requires list", pyproject.string()));
  for (const auto& item : *requires_) {
    auto s = item.value<std::string>();
    if (!s)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: [build-system] requires holds a non-string", pyproject.string()));
    out.requires_.push_back(*s);
  }
  out.backend = (*system)["build-backend"].value_or(std::string(legacy.backend));
  if (const toml::array* paths = (*system)["backend-path"].as_array()) {
    for (const auto& item : *paths) {
      auto s = item.value<std::string>();
      if (!s)
        return fail(ErrorKind::runtime,
                    fmt::format("{}: backend-path holds a non-string", pyproject.string()));
      fs::path p = fs::path(*s).lexically_normal();
      if (p.is_absolute() || (!p.empty() && *p.begin() == ".."))
        return fail(ErrorKind::runtime,
                    fmt::format("{}: backend-path {} is outside the source tree", pyproject.string(), *s));
      out.backend_path.push_back(*s);
    }
  }
  return out;
}

Result<HookResult> run_hook(const HookCall& call) {
  fs::path out = call.scratch / (call.hook + ".json");
  std::error_code ec;
  fs::remove(out, ec);
  nlohmann::json request = {{"out", out.string()},
                            {"hook", call.hook},
                            {"backend", call.system->backend},
                            {"backend_path", call.system->backend_path},
                            {"extra_path", call.extra_path},
                            {"wheel_directory", call.wheel_directory.string()}};
  util::LoggedProcess process;
  process.argv = {call.python.string(), "-c", std::string(kRunner), request.dump()};
  process.env = call.env;
  process.cwd = call.tree;
  process.log = call.log;
  process.timeout = call.timeout;
  {
    std::ofstream log(call.log, std::ios::app);
    log << fmt::format("$ {} <hook runner> {}\n", call.python.string(), call.hook);
  }
  auto exited = util::run_logged(process);
  if (!exited) return std::unexpected(exited.error());
  HookResult result;
  result.exit_code = exited->exit_code;
  result.timed_out = exited->timed_out;
  auto text = util::read_file(out);
  if (!text) return result;
  auto parsed = nlohmann::json::parse(*text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return result;
  if (parsed.contains("error")) {
    result.error = parsed.value("message", std::string());
    return result;
  }
  result.value = parsed["return"];
  result.ok = exited->exit_code == 0 && !exited->timed_out;
  return result;
}

}  // namespace strata::build::detail
