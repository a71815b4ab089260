#pragma once
// Each command: a plain options struct, a function that registers its flags with CLI11 (no work
// in callbacks), and a run function called after parsing.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/console.hpp"

namespace strata::cli {

/// `strata debug`: show what strata sees in a target interpreter.
struct DebugOptions {
  std::string python = "python3";  ///< interpreter path or name on PATH
};
/// Registers `debug` and its flags on `app`, filling `options` when parsed.
CLI::App* add_debug_command(CLI::App& app, DebugOptions& options);
/// Probes the interpreter and prints its facts, marker environment and supported tags.
int run_debug(const DebugOptions& options, const Console& console);

/// `strata list`: every distribution visible to an environment, with version and owner.
struct ListOptions {
  std::string env;     ///< --env DIR: a virtual environment (its bin/python is probed)
  std::string python;  ///< --python PATH: that interpreter's own environment (without --env)
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
struct InstallOptions {
  std::string lock = ".";  ///< lock file or directory holding one
  std::string env;         ///< --env DIR
  std::string python;      ///< --python PATH
  std::string prefix;      ///< --prefix DIR (with --python)
  std::vector<std::string> only, with, without, extras;
  bool all_extras = false;
  std::string index_url;                 ///< --index-url (or STRATA_INDEX_URL)
  std::vector<std::string> sources;      ///< --source NAME=URL
  std::vector<std::string> find_links;   ///< --find-links DIR
  bool offline = false;
  std::string cache_dir;
  bool dry_run = false;
  bool no_compile = false;
  std::string link_mode = "auto";  ///< auto, copy, hardlink, reflink
  bool allow_replace = false;
  bool locked = false;  ///< a stale Poetry content-hash is an error
  std::string layer;    ///< --layer MANIFEST
};
/// Registers `install` and its flags on `app`.
CLI::App* add_install_command(CLI::App& app, InstallOptions& options);
/// Reads the lock, probes the target and selects; with --dry-run prints the selection.
int run_install(const InstallOptions& options, const Console& console);

}  // namespace strata::cli
