#pragma once
// `strata fetch` and `strata cache`: options structs, registration and run functions (kept apart
// from commands.hpp so the fetch layer's commands build on their own).

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/console.hpp"
#include "env/target_spec.hpp"

namespace strata::cli {

/// `strata fetch [LOCK]`: download the selection's wheels into the cache or --dest.
struct FetchCommandOptions {
  std::string lock = ".";  ///< lock file or directory
  std::string dest;        ///< --dest DIR ("" = the cache)
  std::string python;      ///< target interpreter ("" = python3 on PATH)
  env::TargetSpec spec;    ///< --python-version/--platform/--implementation/--abi
  std::vector<std::string> only, with, without, extras;
  bool all_extras = false;
  std::vector<std::string> packages;  ///< --package: uv.lock workspace members
  bool all_packages = false;
  std::string index_url;                ///< --index-url / STRATA_INDEX_URL
  std::vector<std::string> sources;     ///< --source NAME=URL
  std::vector<std::string> find_links;  ///< --find-links DIR
  bool offline = false;
  std::string cache_dir;
  int jobs = 8;
  int retries = 4;
  int timeout = 30;  ///< seconds a stalled transfer may last
};
/// Registers `fetch` and its flags on `app`.
CLI::App* add_fetch_command(CLI::App& app, FetchCommandOptions& options);
/// Reads the lock, selects for the target, picks each package's wheel and fetches them all.
int run_fetch(const FetchCommandOptions& options, const Console& console);

/// --python-version, --platform, --implementation and --abi (a target without an interpreter,
/// env/target_spec.hpp) into `spec`, for every command that plans for a target.
void add_target_flags(CLI::App* cmd, env::TargetSpec& spec);

/// Refuses an --index-url that is not an http(s) URL with a host (or a file: URL), so a typo is
/// a usage error (exit 2) before any request rather than retries against nothing.
CLI::Validator index_url_validator();
/// `--index-url URL`, also read from STRATA_INDEX_URL, both checked by index_url_validator when
/// parsed (install, fetch, plan and export alike).
CLI::Option* add_index_url_option(CLI::App* cmd, std::string& index_url, const std::string& description);
/// `--source NAME=URL` (repeatable), each checked when parsed: a NAME, "=", and an index URL.
CLI::Option* add_source_option(CLI::App* cmd, std::vector<std::string>& sources,
                               const std::string& description);

/// `strata cache dir|clean`.
struct CacheOptions {
  std::string cache_dir;  ///< --cache-dir
  std::string action;     ///< "dir" or "clean", set by the parsed subcommand
};
/// Registers `cache` with its `dir` and `clean` subcommands.
CLI::App* add_cache_command(CLI::App& app, CacheOptions& options);
/// Prints the cache directory or removes what strata keeps in it.
int run_cache(const CacheOptions& options, const Console& console);

}  // namespace strata::cli
