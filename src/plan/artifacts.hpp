#pragma once
// From a selection to the files to fetch: the chosen wheel of every selected package as a fetch
// request, with every package that has no usable wheel reported at once (before any download).
// Shared by `strata fetch` and `strata install`.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fetch/fetch.hpp"
#include "lock/model.hpp"
#include "plan/wheel_choice.hpp"

namespace strata::plan {

/// A selected package, the wheel chosen for the target, and the request that fetches it.
struct ChosenWheel {
  const lock::Package* package = nullptr;
  const lock::Artifact* artifact = nullptr;
  fetch::ArtifactRequest request;
};

/// The chosen wheels, in selection order, and one line per package that cannot be installed
/// (no compatible wheel, a source that needs a build, no sha256 in the lock).
struct WheelChoices {
  std::vector<ChosenWheel> chosen;
  std::vector<std::string> problems;
};

/// Why a locked wheel is not the package it is locked for (its file name names another project or
/// version; names compared normalized, versions as PEP 440 versions), or nothing when it is.
std::optional<std::string> identity_mismatch(const lock::Package& package, const lock::Artifact& artifact);

/// Chooses a wheel for every selected package (a chosen wheel whose file name is another
/// package's is a problem, before anything is downloaded). `lock_dir` resolves relative artifact paths.
WheelChoices choose_wheels(const lock::Lock& lock, const lock::Selection& selection,
                           const TagRanking& ranking, const std::filesystem::path& lock_dir);

/// Parses `--source NAME=URL` values; a malformed one is a usage error (URL credentials redacted).
Result<std::map<std::string, std::string>> parse_source_overrides(const std::vector<std::string>& values);

}  // namespace strata::plan
