#include "cli/main.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/console.hpp"
#include "cli/fetch_commands.hpp"
#include "cli/version.hpp"
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
  app.set_version_flag("--version", cli::version_text());
}

/// Edits (insert, delete, substitute, swap of neighbours) that turn a into b: the optimal string
/// alignment distance.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows of the table: two before (for a swap), the one before, this one.
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

/// After a failed parse that found no subcommand: the first bare word left over, if any, is a
/// command strata does not have; says so and suggests the closest real one.
std::optional<Error> unknown_command(const CLI::App& app) {
  if (!app.get_subcommands().empty()) return std::nullopt;
  std::vector<std::string> rest = app.remaining();
  auto word = std::ranges::find_if(rest, [](const std::string& arg) { return !arg.starts_with('-'); });
  if (word == rest.end()) return std::nullopt;
  std::string message = fmt::format("unknown command \"{}\"", *word);
  // One edit for a short word, two for a longer one: close enough to be a typo.
  std::size_t best = word->size() <= 3 ? 1 : 2;
  std::string suggestion;
  for (const CLI::App* cmd : app.get_subcommands([](const CLI::App*) { return true; })) {
    std::size_t distance = edit_distance(*word, cmd->get_name());
    if (distance <= best && (suggestion.empty() || distance < best)) {
      best = distance;
      suggestion = cmd->get_name();
    }
  }
  if (!suggestion.empty())
    message += fmt::format("; did you mean \"{}\"?", suggestion);
  else
    message += "; run `strata --help` for the commands";
  return Error{ErrorKind::usage, std::move(message)};
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
  cli::ExportOptions export_options;
  CLI::App* export_cmd = cli::add_export_command(app, export_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (std::optional<Error> unknown = unknown_command(app)) {
      cli::Console(global).error(*unknown);
      return exit_code(ErrorKind::usage);
    }
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
    if (export_cmd->parsed()) return cli::run_export(export_options, console);
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
