// `strata export [LOCK] --format requirements|pylock [-o FILE]`: flags into plan::ExportOptions,
// then plan::run_export; the file goes to -o or standard output.

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/fetch_commands.hpp"

namespace strata::cli {

CLI::App* add_export_command(CLI::App& app, ExportOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Write the packages a lock selects for a target as a hashed requirements.txt (installable\n"
      "by `pip install --require-hashes --no-deps -r`) or as a PEP 751 pylock.toml. Selection and\n"
      "target as for install; the project itself is left out. Deterministic output.\n"
      "Example: strata export poetry.lock --format requirements --with dev --python python3.12 -o "
      "requirements.txt");
  cmd->add_option("LOCK", o.request.lock, "Lock file or a directory holding one (default: .)");
  cmd->add_option("--format", o.format, "requirements or pylock")
      ->required()
      ->check(CLI::IsMember({"requirements", "pylock"}));
  cmd->add_option("-o,--output", o.out, "Write to FILE (default: standard output)");
  cmd->add_option("--env", o.request.env, "Target virtual environment (its interpreter decides markers)");
  cmd->add_option("--python", o.request.python, "Target interpreter (default: python3 on PATH)");
  add_target_flags(cmd, o.request.spec);
  add_selection_flags(cmd, o.request);
  cmd->add_flag("--locked", o.request.locked, "Fail when poetry.lock is stale against pyproject.toml");
  add_index_url_option(cmd, o.request.index.index_url,
                       "Replace the default index (PyPI; also STRATA_INDEX_URL) for locating files a lock "
                       "names only by hash");
  add_source_option(cmd, o.sources, "Use URL for the lock's source NAME (NAME=URL)");
  cmd->add_option("--find-links", o.find_links, "Directory of local files matched by hash");
  cmd->add_flag("--offline", o.request.index.offline, "No index requests: the cache and --find-links only");
  return cmd;
}

int run_export(ExportOptions& options, const Console& console) {
  options.request.index.source_urls = value_or_throw(plan::parse_source_overrides(options.sources));
  for (const auto& dir : options.find_links)
    options.request.index.find_links.emplace_back(std::filesystem::absolute(dir));
  PlanConsole observer(console);
  plan::ExportReport report = plan::run_export(options, observer);
  for (const auto& problem : report.problems) console.error_line(problem);
  if (report.exit_code == 0 && options.out.empty() && !console.json())
    fmt::print(stdout, "{}", report.content);
  console.info(report.summary);
  console.emit(report.json);
  return report.exit_code;
}

}  // namespace strata::cli
