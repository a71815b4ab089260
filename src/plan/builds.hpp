#pragma once
// Running the builds an install needs (SPEC "Builds"): each source made into a verified tree
// (build/source, build/git), then built (or found in the built-wheel cache) by build::Builder,
// largest source first, at most --build-jobs at once. Nothing here touches the target.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "build/build.hpp"
#include "build/git.hpp"
#include "fetch/fetch.hpp"
#include "plan/artifacts.hpp"

namespace strata::plan {

/// One build to run: the choice and, for sdists and archives, the verified file.
struct BuildJob {
  const ChosenBuild* build = nullptr;
  const fetch::FetchedArtifact* source = nullptr;  ///< nullptr for git and directory sources
};

/// A wheel built for a job.
struct BuildOutcome {
  build::BuiltWheel wheel;
  std::string source_key;           ///< as the plan keyed it
  bool editable_requested = false;  ///< the lock marks it editable (wheel.editable: built so)
};

/// How builds run.
struct BuildRunOptions {
  build::BuildOptions build;  ///< interpreter, cache, fetch, constraints (isolation: per package)
  bool no_isolation = false;  ///< --no-build-isolation: every build
  std::set<std::string> no_isolation_packages;  ///< --no-build-isolation-package NAMEs (normalized)
  unsigned jobs = 0;                            ///< --build-jobs; 0: the cores
};

/// Runs every job; `on_built(i, outcome)` is called (from a worker thread) as each job's wheel is
/// ready. Every failure is reported together, each naming its package.
Result<std::vector<BuildOutcome>> run_builds(
    const std::vector<BuildJob>& jobs, const BuildRunOptions& options, build::GitClient& git,
    fetch::HttpTransport& transport, fetch::CredentialResolver& credentials, build::BuildObserver& observer,
    const std::function<void(std::size_t, const BuildOutcome&)>& on_built);

}  // namespace strata::plan
