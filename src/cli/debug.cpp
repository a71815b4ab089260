// `strata debug`: what strata sees in a target interpreter (probe, markers, supported tags).

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/fetch_commands.hpp"
#include "env/cache_dir.hpp"
#include "env/probe.hpp"
#include "env/target_spec.hpp"
#include "pep/tags.hpp"
#include "plan/prepare.hpp"

namespace strata::cli {
namespace {

constexpr std::size_t kTagsShown = 10;

std::string libc_description(const pep::TagEnvironment& env) {
  if (env.glibc) return fmt::format("glibc {}.{}", env.glibc->first, env.glibc->second);
  if (env.musl) return fmt::format("musl {}.{}", env.musl->first, env.musl->second);
  return "no glibc or musl detected";
}

void print_human(const env::Interpreter& interp, bool described, const std::vector<pep::Tag>& tags,
                 const Console& console) {
  if (described)
    console.info(fmt::format("Interpreter:    none (described by the flags; scripts name {})",
                             interp.executable.string()));
  else
    console.info(fmt::format("Interpreter:    {}", interp.executable.string()));
  if (!described && interp.sys_executable != interp.executable)
    console.info(fmt::format("sys.executable: {}", interp.sys_executable.string()));
  console.info(fmt::format("Version:        {} ({})", interp.version, interp.implementation));
  console.info(
      fmt::format("Platform:       {}, {}", interp.tag_env.platform, libc_description(interp.tag_env)));
  console.info(fmt::format("Prefix:         {}{}", interp.prefix.string(),
                           interp.in_venv
                               ? fmt::format(" (virtual environment of {})", interp.base_prefix.string())
                               : std::string()));
  console.info("Scheme paths:");
  for (const auto& [name, path] : interp.paths) console.info(fmt::format("  {:<12} {}", name, path));
  console.info("Site dirs:");
  for (const auto& dir : interp.site_dirs) console.info(fmt::format("  {}", dir.string()));
  console.info("Marker environment:");
  for (const auto& [name, value] : interp.markers) console.info(fmt::format("  {:<31} {}", name, value));
  console.info(fmt::format("Supported tags ({}, most preferred first):", tags.size()));
  const std::size_t shown = console.verbose() ? tags.size() : std::min(tags.size(), kTagsShown);
  for (std::size_t i = 0; i < shown; ++i) console.info(fmt::format("  {}", tags[i].str()));
  if (shown < tags.size()) console.info(fmt::format("  ... and {} more (-v shows all)", tags.size() - shown));
}

}  // namespace

CLI::App* add_debug_command(CLI::App& app, DebugOptions& options) {
  auto* cmd =
      app.add_subcommand("debug", "Show the target interpreter, its markers and supported wheel tags");
  cmd->add_option("--python", options.python, "Target interpreter (default: the first python3 on PATH)");
  add_target_flags(cmd, options.spec);
  return cmd;
}

int run_debug(const DebugOptions& options, const Console& console) {
  const bool described = plan::is_described(options.spec);
  if (described && !options.python.empty())
    throw CommandError(ErrorKind::usage,
                       fmt::format("--python {} and --python-version/--platform cannot be used together: the "
                                   "flags describe a target without an interpreter",
                                   options.python));
  if (described && options.spec.python_version.empty())
    throw CommandError(ErrorKind::usage, "--platform, --implementation and --abi need --python-version X.Y");
  env::ProbeOptions probe_options;
  // Without a cache directory (no HOME) the probe still works, only uncached.
  if (auto root = env::cache_root()) probe_options.cache_dir = env::interpreter_cache_dir(*root);
  const env::Interpreter interp =
      described ? value_or_throw(env::describe_interpreter(options.spec))
                : value_or_throw(env::probe_interpreter(options.python.empty() ? "python3" : options.python,
                                                        probe_options));
  const std::vector<pep::Tag> tags = pep::supported_tags(interp.tag_env);

  if (console.json()) {
    nlohmann::json tag_list = nlohmann::json::array();
    for (const auto& tag : tags) tag_list.push_back(tag.str());
    nlohmann::json doc{
        {"interpreter", env::to_json(interp)}, {"markers", interp.markers}, {"tags", tag_list}};
    doc["described"] = described;
    if (described) doc["target"] = env::to_json(options.spec);
    console.emit(doc);
  } else {
    print_human(interp, described, tags, console);
  }
  return 0;
}

}  // namespace strata::cli
