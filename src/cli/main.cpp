#include "cli/main.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
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

/// After a failed parse that found no subcommand (of strata, or of a command that has its own,
/// as `cache`): the first bare word left over, if any, is a command strata does not have; says
/// so and suggests the closest real one.
std::optional<Error> unknown_command(const CLI::App& top) {
  const CLI::App* app = &top;
  std::string prefix;
  // Down to the deepest command given: `strata cache dri` is an unknown command of `cache`.
  while (!app->get_subcommands().empty()) {
    app = app->get_subcommands().front();
    prefix += app->get_name() + " ";
    if (app->get_require_subcommand_min() == 0) return std::nullopt;
  }
  if (!app->get_subcommands().empty()) return std::nullopt;
  // What CLI11 did not take: left on the command, or passed up to strata (fallthrough).
  std::vector<std::string> rest = app->remaining();
  if (rest.empty()) rest = top.remaining();
  auto word = std::ranges::find_if(rest, [](const std::string& arg) { return !arg.starts_with('-'); });
  if (word == rest.end()) return std::nullopt;
  std::string message = fmt::format("unknown command \"{}{}\"", prefix, *word);
  // One edit for a short word, two for a longer one: close enough to be a typo.
  std::size_t best = word->size() <= 3 ? 1 : 2;
  std::string suggestion;
  for (const CLI::App* cmd : app->get_subcommands([](const CLI::App*) { return true; })) {
    std::size_t distance = edit_distance(*word, cmd->get_name());
    if (distance <= best && (suggestion.empty() || distance < best)) {
      best = distance;
      suggestion = cmd->get_name();
    }
  }
  if (!suggestion.empty())
    message += fmt::format("; did you mean \"{}{}\"?", prefix, suggestion);
  else
    message += fmt::format("; run `strata {}--help` for the commands", prefix);
  return Error{ErrorKind::usage, std::move(message)};
}

/// One example for each command's --help, by the command's path ("cache dir").
const std::map<std::string, std::string, std::less<>> kExamples = {
    {"debug", "strata debug --python /usr/local/bin/python3"},
    {"list", "strata list --env /opt/venv --json"},
    {"venv", "strata venv /opt/venv --python python3.12"},
    {"fetch", "strata fetch poetry.lock --python /usr/local/bin/python3"},
    {"cache", "strata cache dir"},
    {"cache dir", "strata cache dir --json"},
    {"cache clean", "strata cache clean --cache-dir /tmp/strata-cache"},
    {"install", "strata install poetry.lock --env /opt/venv"},
    {"plan", "strata plan uv.lock --out layers --dockerfile dockerfiles/layered.Dockerfile"},
    {"check", "strata check poetry.lock --env /opt/venv"},
    {"export", "strata export uv.lock --format requirements -o requirements.txt"},
};

/// What every --help ends with: the variables strata reads.
constexpr std::string_view kEnvironmentHelp =
    "Environment: STRATA_CACHE_DIR, STRATA_INDEX_URL, STRATA_HTTP_TIMEOUT, VIRTUAL_ENV (install and list\n"
    "without a target); the CA bundle (PEM) for TLS: STRATA_CA_FILE, else SSL_CERT_FILE, else\n"
    "REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE (the first set is used), else the system's store.\n";

/// Each command's --help ends with the options every command takes (CLI11 lists only a command's
/// own) and an example.
void add_help_footers(CLI::App& app, CLI::App& parent, const std::string& path) {
  for (CLI::App* cmd : parent.get_subcommands([](const CLI::App*) { return true; })) {
    std::string name = path.empty() ? cmd->get_name() : path + " " + cmd->get_name();
    std::string footer = "Global options (before or after the command):\n";
    for (const CLI::Option* option : app.get_options()) {
      std::string flags = option->get_name(false, true);
      if (flags == "-h,--help") continue;
      if (option->get_type_size() != 0) flags += " " + option->get_type_name();
      footer += fmt::format("  {:<28}{}\n", flags, option->get_description());
    }
    // A command whose description already ends with an example keeps that one.
    if (auto example = kExamples.find(name);
        example != kExamples.end() && cmd->get_description().find("Example:") == std::string::npos)
      footer += fmt::format("\nExample: {}\n", example->second);
    footer += fmt::format("\n{}", kEnvironmentHelp);
    cmd->footer(footer);
    add_help_footers(app, *cmd, name);
  }
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
  cli::ImageOptions image_options;
  CLI::App* image_cmd = cli::add_image_command(app, image_options);

  add_help_footers(app, app, "");
  app.footer(std::string(kEnvironmentHelp));

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
    if (image_cmd->parsed()) return cli::run_image(image_options, console);
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
