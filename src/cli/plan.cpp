// `strata plan [LOCK] --out DIR`: flags into plan::PlanCommandOptions, then
// plan::run_plan_command, then its report.

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/fetch_commands.hpp"

namespace strata::cli {
void PlanConsole::on_phase(std::string_view line) { console_.detail(line); }
void PlanConsole::on_warning(std::string_view line) { console_.warn(line); }

void add_selection_flags(CLI::App* cmd, plan::PlanRequest& request) {
  cmd->add_option("--only", request.only, "Only these groups")->delimiter(',');
  cmd->add_option("--with", request.with, "Also these groups")->delimiter(',');
  cmd->add_option("--without", request.without, "Not these groups")->delimiter(',');
  cmd->add_option("--extras", request.extras, "Extras to include")->delimiter(',');
  cmd->add_flag("--all-extras", request.all_extras, "Include every extra");
  cmd->add_option("--package", request.packages, "uv.lock workspace: these members")->delimiter(',');
  cmd->add_flag("--all-packages", request.all_packages, "uv.lock workspace: every member");
  cmd->add_option("--cache-dir", request.cache_dir, "Cache directory (also STRATA_CACHE_DIR)");
}

CLI::App* add_plan_command(CLI::App& app, PlanCommandOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "plan",
      "Split a lock into ordered layer manifests (DIR/NN-<name>.toml), DIR/plan.json and\n"
      "DIR/Dockerfile.layers, one `strata install --layer` build step per manifest. With a\n"
      "plan.json already in DIR every package stays in its layer, so a bump changes only its\n"
      "own layer's manifest");
  cmd->add_option("LOCK", o.request.lock, "Lock file or a directory holding one (default: .)");
  cmd->add_option("--out", o.out, "Directory of the plan (kept between runs)")->required();
  cmd->add_option("--env", o.request.env, "Target virtual environment (its interpreter decides wheels)");
  cmd->add_option("--python", o.request.python, "Target interpreter (default: python3 on PATH)");
  add_target_flags(cmd, o.request.spec);
  add_selection_flags(cmd, o.request);
  cmd->add_option("--owner", o.request.owner,
                  "Project the manifests name (default: the lock's project, as for install): installing "
                  "them makes layer:<project>/<name> the owner");
  cmd->add_flag("--locked", o.request.locked, "Fail when poetry.lock is stale against pyproject.toml");
  add_index_url_option(cmd, o.index_url,
                       "Replace the default index (PyPI; also STRATA_INDEX_URL) for size look-ups");
  add_source_option(cmd, o.sources, "Use URL for the lock's source NAME (NAME=URL) for size look-ups");
  cmd->add_flag("--offline", o.offline,
                "Sizes only from the lock and the cache: no index requests (unknown sizes count as small)");
  cmd->add_option("--policy", o.policy, "Layer policy TOML (default: the built-in layers/default.toml)");
  cmd->add_option("--max-layers", o.max_layers, "At most N layers (default: the policy's, 32)");
  cmd->add_flag("--fresh", o.fresh, "Ignore DIR/plan.json: place every package by the policy");
  cmd->add_option("--dockerfile", o.dockerfile,
                  "The app's Dockerfile: also write a complete one with the layer steps after its WORKDIR");
  cmd->add_option("--dockerfile-out", o.dockerfile_out,
                  "Where --dockerfile's result goes (default DIR/Dockerfile)");
  cmd->add_option("--context", o.context, "Docker build context the COPY paths are relative to (default: .)");
  cmd->add_option("--image-env", o.image_env, "The environment inside the image (default /opt/venv)");
  cmd->add_option("--strata-image", o.strata_image,
                  "Run strata from this image (bind-mounted at /opt/strata) instead of strata on PATH");
  cmd->add_option("--secret", o.secrets,
                  "Source NAME whose credentials come as build secrets strata-<name>-username/-password");
  return cmd;
}

int run_plan(const PlanCommandOptions& options, const Console& console) {
  PlanConsole observer(console);
  plan::PlanCommandReport report = plan::run_plan_command(options, observer);
  for (const auto& line : report.lines) console.detail(line);
  if (!report.summary.empty()) console.info(report.summary);
  console.emit(report.json);
  return report.exit_code;
}

}  // namespace strata::cli
