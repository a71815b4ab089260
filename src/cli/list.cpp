// `strata list`: every distribution visible to an environment's interpreter, with its owner (from
// every owner file under <env>/.strata/owners/, and a legacy ledger.json).

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "env/cache_dir.hpp"
#include "env/default_target.hpp"
#include "env/installed.hpp"
#include "env/ledger.hpp"
#include "env/probe.hpp"
#include "plan/decide.hpp"

namespace strata::cli {
namespace fs = std::filesystem;

namespace {

struct Target {
  std::string python;  ///< interpreter to probe
  fs::path root;       ///< environment root holding `.strata/` (empty: the interpreter's prefix)
  std::string source;  ///< "--env", "--python", or without them env::DefaultTarget's source
};

/// --env, else --python, else as install does: $VIRTUAL_ENV, ./.venv, python3 on PATH.
Target resolve_target(const ListOptions& options) {
  fs::path env_dir = options.env;
  std::string source = "--env";
  if (options.env.empty() && options.python.empty()) {
    env::DefaultTarget chosen = env::default_target();
    if (chosen.env.empty()) return {"python3", {}, chosen.source};
    env_dir = chosen.env;
    source = chosen.source;
  }
  if (!env_dir.empty()) {
    fs::path python = env_dir / "bin" / "python";
    std::error_code ec;
    if (!fs::exists(python, ec))
      throw CommandError(
          ErrorKind::usage,
          fmt::format("{}{}: not a virtual environment (no bin/python); create it with `strata venv {}` "
                      "or `strata install --env {}`",
                      env_dir.string(), source == "--env" ? "" : fmt::format(" (from {})", source),
                      env_dir.string(), env_dir.string()));
    return {python.string(), env_dir, source};
  }
  return {options.python, {}, "--python"};
}

struct Row {
  const env::InstalledDistribution* distribution;
  std::string owner;  ///< "unmanaged" when the ledger does not know it
};

nlohmann::json row_json(const env::InstalledDistribution& d, const std::string& owner) {
  // One spelling everywhere: the normalized name (PEP 503), as install and the lock say it; the
  // METADATA Name as published stays in display_name.
  return {{"name", d.name},
          {"display_name", d.display_name},
          {"normalized_name", d.name},
          {"version", d.version},
          {"owner", owner},
          {"installer", d.installer},
          {"path", d.path.string()},
          {"site_dir", d.site_dir.string()},
          {"format", d.read_only() ? "egg-info" : "dist-info"},
          {"direct_url", d.has_direct_url}};
}

std::string owner_text(const env::InstalledDistribution& d, const env::Ledger& ledger) {
  std::string owner = plan::owner_of(d, ledger);
  return owner.empty() ? std::string("unmanaged") : owner;
}

}  // namespace

CLI::App* add_list_command(CLI::App& app, ListOptions& options) {
  auto* cmd =
      app.add_subcommand("list", "Show every distribution in an environment with its version and owner");
  cmd->add_option("--env", options.env, "Virtual environment directory (its bin/python is probed)");
  cmd->add_option(
      "--python", options.python,
      "Interpreter whose own environment to list (ignored with --env, whose interpreter is used); "
      "without either: $VIRTUAL_ENV, else ./.venv, else python3 on PATH");
  cmd->add_option("--cache-dir", options.cache_dir,
                  "Cache directory for the interpreter probe (also STRATA_CACHE_DIR)");
  return cmd;
}

int run_list(const ListOptions& options, const Console& console) {
  const Target target = resolve_target(options);
  env::ProbeOptions probe_options;
  if (!options.cache_dir.empty())
    probe_options.cache_dir = env::interpreter_cache_dir(value_or_throw(env::cache_root(options.cache_dir)));
  else if (auto root = env::cache_root())
    probe_options.cache_dir = env::interpreter_cache_dir(*root);
  const env::Interpreter interpreter = value_or_throw(env::probe_interpreter(target.python, probe_options));
  const fs::path root = target.root.empty() ? interpreter.prefix : target.root;
  if (target.source != "--env" && target.source != "--python")
    console.info(env::describe({target.root, target.source}, interpreter));
  const env::InstalledSet installed = value_or_throw(env::scan_installed(interpreter));
  const env::Ledger ledger = value_or_throw(env::Ledger::load(root));

  std::vector<Row> rows;
  for (const auto& d : installed.distributions) rows.push_back({&d, owner_text(d, ledger)});
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.distribution->name != b.distribution->name) return a.distribution->name < b.distribution->name;
    return a.distribution->path < b.distribution->path;
  });

  for (const auto& problem : installed.problems) console.warn(problem);
  for (const auto& d : installed.shadowed) {
    const auto* visible = installed.find(d.name);
    std::string line = fmt::format("{} {} at {} is hidden by {} {} at {}", d.name, d.version, d.path.string(),
                                   visible->name, visible->version, visible->path.string());
    // A same-version duplicate (Debian ships some as both egg-info and dist-info) is harmless.
    if (visible->version == d.version)
      console.detail(line);
    else
      console.warn(line);
  }

  if (console.json()) {
    nlohmann::json state_files = nlohmann::json::array();
    for (const auto& file : ledger.files()) state_files.push_back(file.string());
    nlohmann::json list = nlohmann::json::array();
    for (const Row& row : rows) list.push_back(row_json(*row.distribution, row.owner));
    nlohmann::json shadowed = nlohmann::json::array();
    for (const auto& d : installed.shadowed) shadowed.push_back(row_json(d, owner_text(d, ledger)));
    console.emit({{"ok", true},
                  {"environment", root.string()},
                  {"environment_source", target.source},
                  {"interpreter", interpreter.executable.string()},
                  {"real_interpreter", interpreter.real_executable.string()},
                  {"owners_dir", env::Ledger::owners_dir(root).string()},
                  {"owners", ledger.owners()},
                  {"state_files", state_files},
                  {"distributions", std::move(list)},
                  {"shadowed", std::move(shadowed)},
                  {"problems", installed.problems}});
    return 0;
  }

  std::size_t name_width = 4, version_width = 7, owner_width = 5;
  for (const Row& row : rows) {
    name_width = std::max(name_width, row.distribution->name.size());
    version_width = std::max(version_width, row.distribution->version.size());
    owner_width = std::max(owner_width, row.owner.size());
  }
  console.info(fmt::format("{:<{}}  {:<{}}  {:<{}}  {}", "Name", name_width, "Version", version_width,
                           "Owner", owner_width, "Installer"));
  for (const Row& row : rows) {
    const auto& d = *row.distribution;
    std::string installer = d.installer.empty() ? "-" : d.installer;
    if (d.read_only()) installer += " (egg-info, read-only)";
    console.info(fmt::format("{:<{}}  {:<{}}  {:<{}}  {}", d.name, name_width, d.version, version_width,
                             row.owner, owner_width, installer));
  }
  console.info(fmt::format("{} distributions in {}", rows.size(), root.string()));
  return 0;
}

}  // namespace strata::cli
