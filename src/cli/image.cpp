// `strata image [LOCK] --base BASE --out oci:DIR`: flags into plan::ImageOptions, then
// plan::run_image, then its report.

#include "cli/commands.hpp"
#include "cli/fetch_commands.hpp"
#include "cli/progress.hpp"

namespace strata::cli {

CLI::App* add_image_command(CLI::App& app, ImageOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "image",
      "Write the lock's packages as OCI image layers over a base image, without a daemon: a venv\n"
      "skeleton layer and one layer per `strata plan` manifest, reproducible digests");
  o.request.env = "/opt/venv";
  cmd->add_option("LOCK", o.request.lock, "Lock file or a directory holding one (default: .)");
  cmd->add_option("--base", o.base,
                  "Base image: oci:DIR[:TAG], oci-archive:FILE[:TAG] or REGISTRY/REPO[:TAG|@DIGEST]")
      ->required();
  cmd->add_option("--env", o.request.env, "The virtual environment inside the image (default /opt/venv)");
  cmd->add_option("--out", o.out,
                  "Write the image as an OCI image layout: oci:DIR[:TAG] (tag default latest)");
  cmd->add_option("--push", o.push,
                  "Push the image to REGISTRY/REPO[:TAG] (blobs the registry has are skipped or mounted)");
  cmd->add_option("--creds-file", o.creds_file,
                  "Registry credentials: a docker config.json / auth.json, or one USER:PASSWORD line");
  cmd->add_option("--insecure-registry", o.insecure_registries,
                  "Reach this registry HOST[:PORT] without TLS verification (repeatable)");
  cmd->add_option("--plan", o.plan_dir,
                  "Keep the layer plan in DIR between runs (sticky layers, as strata plan)");
  cmd->add_option("--policy", o.policy, "Layer policy TOML (default: the built-in layers/default.toml)");
  cmd->add_option("--max-layers", o.max_layers, "At most N package layers (default: the policy's, 32)");
  cmd->add_option("--compression", o.compression, "Layer compression: gzip (default) or zstd")
      ->check(CLI::IsMember({"gzip", "zstd"}));
  cmd->add_option(
      "--platform", o.platform,
      "The image of an index base to use: OS/ARCH[/VARIANT] (default: this machine's); the wheels "
      "are chosen for the base's architecture and C library");
  cmd->add_option("--python", o.python,
                  "Require this host interpreter of the base's Python version for the bytecode (compiled by "
                  "pythonX.Y on PATH or pyenv's; without one the image has no pycs)");
  cmd->add_flag("--no-compile", o.no_compile, "Write no bytecode");
  add_selection_flags(cmd, o.request);
  cmd->add_option("--owner", o.request.owner,
                  "Project the layers' owners name (default: the lock's project)");
  cmd->add_flag("--locked", o.request.locked, "Fail when poetry.lock is stale against pyproject.toml");
  cmd->add_flag("--allow-replace", o.request.allow_replace,
                "Replace (or shadow) another version the base's environment has, as strata install does");
  cmd->add_option("--index-url", o.index_url, "Replace the default index (also STRATA_INDEX_URL)")
      ->envname("STRATA_INDEX_URL")
      ->check(index_url_validator());
  cmd->add_option("--source", o.sources, "Override a named source: NAME=URL");
  cmd->add_option("--find-links", o.find_links, "Directory of local wheels");
  cmd->add_flag("--offline", o.offline, "Use only the cache and --find-links");
  return cmd;
}

int run_image(const ImageOptions& options, const Console& console) {
  ConsoleProgress progress(console);
  plan::ImageReport report = plan::run_image(options, progress);
  progress.clear();
  for (const auto& line : report.lines) console.detail(line);
  for (const auto& problem : report.problems) console.info(problem);
  if (!report.summary.empty()) console.info(report.summary);
  console.emit(report.json);
  return report.exit_code;
}

}  // namespace strata::cli
