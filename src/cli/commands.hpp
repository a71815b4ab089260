#pragma once
// Each command: a plain options struct, a function that registers its flags with CLI11 (no work
// in callbacks), and a run function called after parsing.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/console.hpp"
#include "env/target_spec.hpp"
#include "plan/check.hpp"
#include "plan/export_command.hpp"
#include "plan/image_command.hpp"
#include "plan/install.hpp"
#include "plan/plan_command.hpp"

namespace strata::cli {

/// The front half's phase lines (for -v) and warnings on the console (plan, check).
class PlanConsole final : public plan::PlanObserver {
 public:
  explicit PlanConsole(const Console& console) : console_(console) {}
  void on_phase(std::string_view line) override;
  void on_warning(std::string_view line) override;

 private:
  const Console& console_;
};

/// The selection flags plan and check share: --only/--with/--without/--extras/--all-extras and
/// --cache-dir, into `request`.
void add_selection_flags(CLI::App* cmd, plan::PlanRequest& request);

/// `strata debug`: show what strata sees in a target interpreter.
struct DebugOptions {
  std::string python;    ///< interpreter path or name on PATH ("" = python3)
  env::TargetSpec spec;  ///< --python-version/--platform/…: show a described target instead
};
/// Registers `debug` and its flags on `app`, filling `options` when parsed.
CLI::App* add_debug_command(CLI::App& app, DebugOptions& options);
/// Probes the interpreter and prints its facts, marker environment and supported tags.
int run_debug(const DebugOptions& options, const Console& console);

/// `strata list`: every distribution visible to an environment, with version and owner.
struct ListOptions {
  std::string env;        ///< --env DIR: a virtual environment (its bin/python is probed)
  std::string python;     ///< --python PATH: that interpreter's own environment (without --env)
  std::string cache_dir;  ///< --cache-dir: where the interpreter probe is cached
};
/// Registers `list` and its flags on `app`.
CLI::App* add_list_command(CLI::App& app, ListOptions& options);
/// Probes the target, scans its site dirs, reads the ledger and prints one row per distribution.
int run_list(const ListOptions& options, const Console& console);

/// `strata venv DIR [--python PATH]`: create a virtual environment natively.
struct VenvOptions {
  std::string dir;                 ///< the environment directory
  std::string python = "python3";  ///< base interpreter path or name on PATH
};
/// Registers `venv` and its flags on `app`.
CLI::App* add_venv_command(CLI::App& app, VenvOptions& options);
/// Probes the base interpreter and creates (or completes) the environment.
int run_venv(const VenvOptions& options, const Console& console);

/// `strata install [LOCK]`: every flag SPEC "strata install" lists.
using InstallOptions = plan::InstallOptions;
/// Registers `install` and its flags on `app`.
CLI::App* add_install_command(CLI::App& app, InstallOptions& options);
/// Runs plan::run_install and prints its report.
int run_install(const InstallOptions& options, const Console& console);

/// `strata plan [LOCK] --out DIR`: every flag SPEC "strata plan" lists.
using PlanCommandOptions = plan::PlanCommandOptions;
/// Registers `plan` and its flags on `app`.
CLI::App* add_plan_command(CLI::App& app, PlanCommandOptions& options);
/// Runs plan::run_plan_command and prints its report.
int run_plan(const PlanCommandOptions& options, const Console& console);

/// `strata check [LOCK]`: every flag SPEC "strata check" lists.
using CheckOptions = plan::CheckOptions;
/// Registers `check` and its flags on `app`.
CLI::App* add_check_command(CLI::App& app, CheckOptions& options);
/// Runs plan::run_check and prints its problems, warnings and summary.
int run_check(const CheckOptions& options, const Console& console);

/// `strata export [LOCK] --format requirements|pylock`: the flags plan::ExportOptions holds, and
/// the --source / --find-links values turned into its index options when run.
struct ExportOptions : plan::ExportOptions {
  std::vector<std::string> sources;     ///< --source NAME=URL
  std::vector<std::string> find_links;  ///< --find-links DIR
};
/// Registers `export` and its flags on `app`.
CLI::App* add_export_command(CLI::App& app, ExportOptions& options);
/// Runs plan::run_export; the file goes to -o FILE or, without one, to standard output.
int run_export(ExportOptions& options, const Console& console);

/// `strata image [LOCK] --base BASE --out oci:DIR`: every flag SPEC "strata image" lists.
using ImageOptions = plan::ImageOptions;
/// Registers `image` and its flags on `app`.
CLI::App* add_image_command(CLI::App& app, ImageOptions& options);
/// Runs plan::run_image and prints its report.
int run_image(const ImageOptions& options, const Console& console);

}  // namespace strata::cli
