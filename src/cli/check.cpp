// `strata check [LOCK]`: flags into plan::CheckOptions, then plan::run_check, then its report.

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/fetch_commands.hpp"

namespace strata::cli {

CLI::App* add_check_command(CLI::App& app, CheckOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "check",
      "Check, without downloading or writing anything, that a lock installs: conflicts with the\n"
      "environment (or with base locks), packages without a wheel for the target, requires-python,\n"
      "a stale poetry.lock, and caret/tilde constraints in pyproject.toml. Exit 3 when it fails.\n"
      "Example: strata check app/poetry.lock --base platform/poetry.lock --python python3.11 --strict");
  cmd->add_option("LOCK", o.request.lock, "Lock file or a directory holding one (default: .)");
  cmd->add_option("--env", o.request.env, "Virtual environment the lock would be installed into");
  cmd->add_option("--python", o.request.python, "Target interpreter (alone: its own environment)");
  cmd->add_option("--prefix", o.request.prefix,
                  "Check against DIR with --python's (or --python-version's) scheme (pip --prefix)");
  cmd->add_option("--target", o.request.target_dir,
                  "Check against DIR, a flat library directory (pip --target)");
  add_target_flags(cmd, o.request.spec);
  cmd->add_option("--base", o.bases,
                  "A base lock whose selection is the installed set instead of an environment (repeatable)");
  add_selection_flags(cmd, o.request);
  cmd->add_flag("--exact", o.request.exact,
                "Require the locked build: an installed local build (2.5.1+cu124 for 2.5.1) is a conflict");
  cmd->add_flag("--locked", o.request.locked, "A stale poetry.lock is an error, not a warning");
  cmd->add_flag("--empty-env", o.empty_env,
                "Check against nothing installed (a new environment of --python): the lock, its wheels, "
                "requires-python and the lint only; what pre-commit runs");
  cmd->add_flag("--strict", o.strict, "Warnings (caret/tilde constraints, a stale lock) fail the check too");
  return cmd;
}

int run_check(const CheckOptions& options, const Console& console) {
  PlanConsole observer(console);
  plan::CheckReport report = plan::run_check(options, observer);
  for (const auto& warning : report.warnings) console.warn(warning);
  for (const auto& problem : report.problems) console.error_line(problem);
  console.info(report.summary);
  console.emit(report.json);
  return report.exit_code;
}

}  // namespace strata::cli
