#pragma once
// `strata plan [LOCK] --out DIR`: the shared front half (prepare), package sizes, the layer
// policy and the previous DIR/plan.json into DIR/NN-<name>.toml manifests, DIR/plan.json and
// DIR/Dockerfile.layers (SPEC "strata plan"). The CLI fills the options and prints the report.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/prepare.hpp"

namespace strata::plan {

/// Every flag of `strata plan`, as plain data.
struct PlanCommandOptions {
  PlanRequest request;         ///< lock, selection, target, cache dir
  std::string out;             ///< --out DIR
  std::string policy;          ///< --policy FILE ("" = the built-in copy of layers/default.toml)
  std::size_t max_layers = 0;  ///< --max-layers N (0 = the policy's)
  bool fresh = false;          ///< --fresh: ignore DIR/plan.json
  std::string dockerfile;      ///< --dockerfile FILE: the app's Dockerfile to complete
  std::string dockerfile_out;  ///< --dockerfile-out FILE (default DIR/Dockerfile)
  std::string context = ".";   ///< --context DIR: the Docker build context the COPY paths are relative to
  std::string image_env = "/opt/venv";  ///< --image-env: the environment inside the image
  std::string strata_image;             ///< --strata-image: bind-mount strata from this image
  std::vector<std::string> secrets;     ///< --secret SOURCE: credentials as build secrets
  std::string index_url;                ///< --index-url / STRATA_INDEX_URL: replaces PyPI for sizes
  std::vector<std::string> sources;     ///< --source NAME=URL overrides for sizes
  bool offline = false;                 ///< sizes only from the lock and the cache
};

/// What `strata plan` did.
struct PlanCommandReport {
  int exit_code = 0;
  std::string summary;
  std::vector<std::string> lines;     ///< one per layer, for -v
  std::vector<std::string> warnings;  ///< packages without a wheel for the target (planned anyway)
  nlohmann::json json;
};

/// The built-in default policy (layers/default.toml, compiled in).
std::string_view default_policy_text();

/// Runs `strata plan`. Usage and runtime failures throw CommandError.
PlanCommandReport run_plan_command(const PlanCommandOptions& options, PlanObserver& observer);

}  // namespace strata::plan
