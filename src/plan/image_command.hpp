#pragma once
// `strata image [LOCK] --base BASE --env /opt/venv --out oci:DIR | --push REF` (SPEC "strata
// image"): the target read from the base image's files → the shared front half (prepare) → the
// layers of `strata plan` (sticky with --plan DIR) → every wheel prepared as `strata install`
// prepares it → a venv skeleton layer and one layer per manifest → config, manifest, index →
// written as an OCI image layout, or pushed. No daemon; the same inputs give the same digests.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/install.hpp"

namespace strata::plan {

/// Every flag of `strata image`, as plain data.
struct ImageOptions {
  PlanRequest request;   ///< lock, selection, cache dir (the target comes from the base)
  std::string base;      ///< --base oci:DIR[:TAG] | oci-archive:FILE[:TAG] | REGISTRY/REPO[:TAG|@DIGEST]
  std::string out;       ///< --out oci:DIR[:TAG]
  std::string push;      ///< --push REF
  std::string plan_dir;  ///< --plan DIR: keep the layer plan there between runs ("" = a fresh one)
  std::string policy;    ///< --policy FILE
  std::size_t max_layers = 0;
  std::string compression = "gzip";  ///< --compression gzip|zstd
  std::string platform;              ///< --platform os/arch[/variant] ("" = this machine's)
  std::string python;                ///< --python: host interpreter of the base's X.Y for bytecode
  bool no_compile = false;           ///< --no-compile: no pycs
  std::string creds_file;            ///< --creds-file FILE (registry credentials)
  std::vector<std::string> insecure_registries;  ///< --insecure-registry HOST[:PORT]
  std::string index_url;
  std::vector<std::string> sources;
  std::vector<std::string> find_links;
  bool offline = false;
};

/// What `strata image` did.
struct ImageReport {
  int exit_code = 0;
  std::string summary;
  std::vector<std::string> lines;  ///< one per layer, for -v
  std::vector<std::string> problems;
  nlohmann::json json;
};

/// Runs `strata image`. Usage and runtime failures throw CommandError; packages without a wheel
/// for the target and conflicts with the base come back with exit code 3, nothing written.
ImageReport run_image(const ImageOptions& options, InstallObserver& observer);

}  // namespace strata::plan
