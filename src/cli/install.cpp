// `strata install`: flags into plan::InstallOptions, then plan::run_install, then its report.

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/fetch_commands.hpp"
#include "cli/progress.hpp"
#include "util/interrupt.hpp"
#include "util/strings.hpp"

namespace strata::cli {
namespace {

// "a,b" and repeated flags both give lists.
std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    for (auto piece : util::split(v, ',')) {
      if (!util::trim(piece).empty()) out.emplace_back(util::trim(piece));
    }
  }
  return out;
}

/// Stopped by SIGINT or SIGTERM before the commit: nothing in the environment changed (a new one
/// is removed again, staged wheels are deleted).
int interrupted(const Console& console) {
  console.emit({{"ok", false},
                {"interrupted", true},
                {"error", {{"message", util::interrupt_message()}, {"exit_code", 130}}}});
  return console.interrupted("nothing was half-installed");
}

}  // namespace

CLI::App* add_install_command(CLI::App& app, InstallOptions& o) {
  CLI::App* cmd = app.add_subcommand("install", "Install the packages a lock selects into an environment");
  cmd->add_option("LOCK", o.lock, "Lock file or a directory holding one (default: .)");
  cmd->add_option("--env", o.env,
                  "Target virtual environment (created if missing). Without --env, --python and --prefix: "
                  "$VIRTUAL_ENV, else ./.venv, else python3 on PATH in its own environment");
  cmd->add_option("--python", o.python, "Target interpreter (alone: its own environment)");
  cmd->add_option("--prefix", o.prefix,
                  "Install under DIR with --python's (or --python-version's) scheme (pip --prefix)");
  cmd->add_option(
      "--target", o.target_dir,
      "Install into DIR as one flat library directory for PYTHONPATH, scripts in DIR/bin (pip --target)");
  add_target_flags(cmd, o.spec);
  cmd->add_option("--only", o.only, "Only these groups (comma-separated)");
  cmd->add_option(
      "--with", o.with,
      "Also these groups (comma-separated; the default is the main group only, also for a uv.lock, "
      "where `uv sync` adds `dev`, and a pdm.lock, whose main group is `default`)");
  cmd->add_option("--without", o.without, "Not these groups (comma-separated)");
  cmd->add_option("--extras", o.extras,
                  "Extras to install (comma-separated; pdm.lock: its optional-dependencies groups)");
  cmd->add_flag("--all-extras", o.all_extras, "Install every extra");
  cmd->add_option("--package", o.packages, "uv.lock workspace: install these members (comma-separated)");
  cmd->add_flag("--all-packages", o.all_packages, "uv.lock workspace: install every member");
  add_index_url_option(cmd, o.index_url, "Replace the default index (PyPI; also STRATA_INDEX_URL)");
  add_source_option(cmd, o.sources, "Override a named source: NAME=URL");
  cmd->add_option("--find-links", o.find_links, "Directory of local wheels");
  cmd->add_flag("--offline", o.offline, "Use only the cache and --find-links");
  cmd->add_option("--cache-dir", o.cache_dir, "Cache directory (also STRATA_CACHE_DIR)");
  cmd->add_flag("--dry-run", o.dry_run, "Print the plan; change nothing");
  cmd->add_flag("--no-compile", o.no_compile, "Do not byte-compile");
  cmd->add_option("--link-mode", o.link_mode,
                  "How files leave the cache: auto (reflink, else hardlink, else copy), copy, reflink, or "
                  "hardlink (the environment shares the cache's inodes: an edit shows everywhere)")
      ->check(CLI::IsMember({"auto", "copy", "hardlink", "reflink"}))
      ->default_str("auto");
  cmd->add_flag(
      "--allow-replace", o.allow_replace,
      "Replace conflicting installed versions (one in a base environment is shadowed, never modified)");
  cmd->add_flag(
      "--exact", o.exact,
      "Require the locked build: an installed local build (2.5.1+cu124 for the lock's 2.5.1) is then "
      "another version");
  cmd->add_option("--owner", o.owner,
                  "Owner of what this install writes (default: the lock's project name; for a pylock.toml "
                  "without one, its directory's name). The same owner replaces its own packages; another "
                  "owner's are a conflict");
  cmd->add_flag(
      "--keep-removed", o.keep_removed,
      "Keep packages this owner installed before that the lock no longer has (default: remove them)");
  cmd->add_flag("--locked", o.locked, "Fail when poetry.lock is stale against pyproject.toml");
  cmd->add_option("--layer", o.layer,
                  "Install one layer manifest written by `strata plan` (DIR/NN-<name>.toml), owned by "
                  "layer:<project>/<name>: that project's later manifest of the layer replaces its "
                  "packages, another project's is a conflict (exit 3)");
  cmd->add_flag("--no-build", o.no_build,
                "Build nothing: fail (exit 3) listing the packages that need a build");
  cmd->add_option("--only-binary", o.only_binary,
                  "Never build NAME (comma-separated; :all: for every package)");
  cmd->add_flag("--no-build-isolation", o.no_build_isolation,
                "Build with the target interpreter's own packages, nothing installed for the build");
  cmd->add_option("--no-build-isolation-package", o.no_build_isolation_packages,
                  "Build NAME without isolation (comma-separated)");
  cmd->add_option("--build-constraints", o.build_constraints,
                  "Pinned, hashed requirements file for build requirements (pip-compile --generate-hashes)");
  cmd->add_option("--build-jobs", o.build_jobs, "Builds at once (default: the cores)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--install-project", o.install_project, "Also build and install the project itself");
  cmd->add_flag("--no-editable", o.no_editable,
                "Install editable path dependencies as ordinary wheels, not editable (PEP 660)");
  return cmd;
}

int run_install(const InstallOptions& flags, const Console& console) {
  InstallOptions options = flags;
  options.only = split_list(flags.only);
  options.with = split_list(flags.with);
  options.without = split_list(flags.without);
  options.extras = split_list(flags.extras);
  options.packages = split_list(flags.packages);
  options.only_binary = split_list(flags.only_binary);
  options.no_build_isolation_packages = split_list(flags.no_build_isolation_packages);

  util::catch_interrupts();
  ConsoleProgress progress(console);
  plan::InstallReport report;
  try {
    report = plan::run_install(options, progress);
  } catch (const CommandError&) {
    progress.clear();
    if (util::interrupted()) return interrupted(console);
    throw;
  }
  progress.clear();

  // A real run shows its packages as they are committed (`+ numpy 2.2.6 (cached)`, -v); the plan's
  // lines are for a dry run, the kept packages and conflicts.
  for (const auto& d : report.json["plan"]["decisions"]) {
    if (!options.dry_run && report.exit_code == 0 && d["action"] != "keep") continue;
    std::string line =
        fmt::format("  {} {} {}", d.value("action", ""), d.value("name", ""), d.value("version", ""));
    if (d.contains("installed_version") && d["action"] != "keep")
      line += fmt::format(" (installed: {})", d["installed_version"].get<std::string>());
    if (options.dry_run || d["action"] == "conflict")
      console.info(line);
    else
      console.detail(line);
  }
  for (const auto& r : report.json["plan"].value("removed", nlohmann::json::array())) {
    std::string line = fmt::format("  {} {} {} (no longer in the lock)", r.value("action", ""),
                                   r.value("name", ""), r.value("version", ""));
    if (options.dry_run)
      console.info(line);
    else
      console.detail(line);
  }
  for (const auto& problem : report.problems) console.error_line(problem);
  if (!report.summary.empty()) console.info(report.summary);
  if (util::interrupted()) {
    // The signal came while the commit ran: it finished, and the environment is complete.
    report.json["interrupted"] = true;
    console.emit(report.json);
    return console.interrupted(
        "nothing was half-installed (the install had reached its commit and finished)");
  }
  console.emit(report.json);
  return report.exit_code;
}

}  // namespace strata::cli
