// `strata venv DIR [--python PATH]`: create a virtual environment natively.

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "env/cache_dir.hpp"
#include "env/probe.hpp"
#include "env/venv.hpp"

namespace strata::cli {

CLI::App* add_venv_command(CLI::App& app, VenvOptions& options) {
  auto* cmd = app.add_subcommand("venv", "Create a virtual environment (natively, no `python -m venv`)");
  cmd->add_option("dir", options.dir, "Directory of the environment")->required();
  cmd->add_option("--python", options.python, "Base interpreter (default: the first python3 on PATH)");
  return cmd;
}

int run_venv(const VenvOptions& options, const Console& console) {
  env::ProbeOptions probe_options;
  if (auto root = env::cache_root()) probe_options.cache_dir = env::interpreter_cache_dir(*root);
  const env::Interpreter base = value_or_throw(env::probe_interpreter(options.python, probe_options));
  const env::Venv venv = value_or_throw(env::create_venv(options.dir, base));
  if (console.json()) {
    console.emit({{"venv", venv.dir.string()},
                  {"python", venv.python.string()},
                  {"created", venv.created},
                  {"base", base.executable.string()},
                  {"version", base.version}});
  }
  console.info(fmt::format("{} virtual environment at {} (Python {})", venv.created ? "Created" : "Reused",
                           venv.dir.string(), base.version));
  return 0;
}

}  // namespace strata::cli
