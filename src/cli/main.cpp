#include "cli/main.hpp"

#include <cstdlib>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/console.hpp"
#include "cli/fetch_commands.hpp"
#include "util/url.hpp"

namespace strata {
namespace {

void add_global_options(CLI::App& app, cli::GlobalOptions& global) {
  app.add_flag("-v,--verbose", global.verbose, "More detail");
  app.add_flag("-q,--quiet", global.quiet, "Only errors");
  app.add_flag("--json", global.json, "Machine-readable result on stdout");
  app.add_option("--color", global.color, "Color output (NO_COLOR is honoured by auto)")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->default_str("auto");
  app.set_version_flag("--version", std::string("strata ") + STRATA_VERSION);
}

}  // namespace

int main(int argc, char** argv) {
  // libarchive converts every zip entry's time with mktime(), and with TZ unset glibc stats
  // /etc/localtime under a process-wide lock on each call: tens of thousands of stats and lock
  // waits between the install threads for a large lock. strata shows no local times.
  ::setenv("TZ", "UTC", /*overwrite=*/0);
  CLI::App app{"strata: install locked Python dependencies, fast and verifiably", "strata"};
  app.require_subcommand(1);
  app.fallthrough();
  cli::GlobalOptions global;
  add_global_options(app, global);

  // Commands register here, in the order `--help` lists them.
  cli::DebugOptions debug;
  CLI::App* debug_cmd = cli::add_debug_command(app, debug);
  cli::ListOptions list;
  CLI::App* list_cmd = cli::add_list_command(app, list);
  cli::VenvOptions venv;
  CLI::App* venv_cmd = cli::add_venv_command(app, venv);
  cli::FetchCommandOptions fetch;
  CLI::App* fetch_cmd = cli::add_fetch_command(app, fetch);
  cli::CacheOptions cache;
  CLI::App* cache_cmd = cli::add_cache_command(app, cache);
  cli::InstallOptions install;
  CLI::App* install_cmd = cli::add_install_command(app, install);
  cli::PlanCommandOptions plan;
  CLI::App* plan_cmd = cli::add_plan_command(app, plan);
  cli::CheckOptions check;
  CLI::App* check_cmd = cli::add_check_command(app, check);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 quotes the offending argument, which may be a URL with credentials.
    std::ostringstream out, err;
    app.exit(e, out, err);
    fmt::print(stdout, "{}", util::redact_urls_in(out.str()));
    fmt::print(stderr, "{}", util::redact_urls_in(err.str()));
    return exit_code(ErrorKind::usage);
  }

  cli::Console console(global);
  try {
    (void)console;
    if (debug_cmd->parsed()) return cli::run_debug(debug, console);
    if (list_cmd->parsed()) return cli::run_list(list, console);
    if (venv_cmd->parsed()) return cli::run_venv(venv, console);
    if (fetch_cmd->parsed()) return cli::run_fetch(fetch, console);
    if (cache_cmd->parsed()) return cli::run_cache(cache, console);
    if (install_cmd->parsed()) return cli::run_install(install, console);
    if (plan_cmd->parsed()) return cli::run_plan(plan, console);
    if (check_cmd->parsed()) return cli::run_check(check, console);
  } catch (const CommandError& e) {
    console.error(e.error());
    return exit_code(e.error().kind);
  } catch (const std::exception& e) {
    console.error(Error{ErrorKind::runtime, fmt::format("internal error: {}", e.what())});
    return exit_code(ErrorKind::runtime);
  }
  return 0;
}

}  // namespace strata
