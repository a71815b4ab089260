#pragma once
// Running the builds an install needs (SPEC "Builds"): each source made into a verified tree
// (build/source, build/git), then built (or found in the built-wheel cache) by build::Builder.
// A build starts as soon as its source is there (a git or directory source at once, an sdist when
// its download is verified), while the other files still download; the largest ready source
// first, at most --build-jobs at once. Nothing here touches the target.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "build/build.hpp"
#include "build/git.hpp"
#include "fetch/fetch.hpp"
#include "plan/artifacts.hpp"

namespace strata::plan {

/// Runs items 0..n-1 on at most `threads` worker threads, each once it has been made ready; among
/// the ready ones the largest first (ties: the lower index). Thread-safe.
class ReadyScheduler {
 public:
  using Work = std::function<void(std::size_t)>;
  /// `sizes[i]` orders item i; the items in `ready_now` are ready before any worker starts.
  ReadyScheduler(std::vector<std::uint64_t> sizes, unsigned threads,
                 const std::vector<std::size_t>& ready_now, Work work);
  ~ReadyScheduler();  ///< cancel() and wait()
  ReadyScheduler(const ReadyScheduler&) = delete;
  ReadyScheduler& operator=(const ReadyScheduler&) = delete;

  /// Item `i` may run (a second call does nothing); `size`, when given, replaces its size.
  void ready(std::size_t i, std::optional<std::uint64_t> size = std::nullopt);
  /// No item that has not started starts any more (a download failed: the install stops).
  void cancel();
  /// Waits until every item has run, or (after cancel()) until the running ones have finished.
  void wait();

 private:
  void work();

  Work work_;
  std::vector<std::uint64_t> sizes_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::size_t> made_ready_;
  std::vector<std::size_t> queue_;  // ready, not started
  std::size_t started_ = 0, finished_ = 0;
  bool cancelled_ = false;
  std::vector<std::jthread> threads_;  // last: joined before the state above is destroyed
};

/// A wheel built for a job.
struct BuildOutcome {
  build::BuiltWheel wheel;
  std::string source_key;           ///< as the plan keyed it
  bool editable_requested = false;  ///< the lock marks it editable (wheel.editable: built so)
};

/// What the lock says about the git source of a build (from == BuildFrom::git).
build::GitSpec git_spec(const ChosenBuild& build);

/// How builds run.
struct BuildRunOptions {
  build::BuildOptions build;  ///< interpreter, cache, fetch, constraints (isolation: per package)
  bool no_isolation = false;  ///< --no-build-isolation: every build
  std::set<std::string> no_isolation_packages;  ///< --no-build-isolation-package NAMEs (normalized)
  unsigned jobs = 0;                            ///< --build-jobs; 0: the cores
};

/// The builds of one install, running while its files download. Jobs without a file to fetch
/// (git, directory) start at once; the others when source_arrived() hands over their verified
/// file. `on_built(i, outcome)` is called from a worker thread as each job's wheel is ready.
/// The transport and credentials are used by worker threads only (build requirements): give
/// the run a transport of its own, not the one downloading meanwhile.
class BuildRun {
 public:
  using OnBuilt = std::function<void(std::size_t, const BuildOutcome&)>;
  /// `jobs[i]`: the i-th build to run (an sdist or archive waits for its file).
  BuildRun(std::vector<const ChosenBuild*> jobs, const BuildRunOptions& options, build::GitClient& git,
           fetch::HttpTransport& transport, fetch::CredentialResolver& credentials,
           build::BuildObserver& observer, OnBuilt on_built);
  ~BuildRun();  ///< cancels what has not started and waits for the running builds
  BuildRun(const BuildRun&) = delete;
  BuildRun& operator=(const BuildRun&) = delete;

  /// The verified file of job `i`'s sdist or archive is in place: its build may start.
  void source_arrived(std::size_t i, const fetch::FetchedArtifact& file);
  /// Waits for every build; every failure is reported together, each naming its package.
  Result<std::vector<BuildOutcome>> finish();

 private:
  void run(std::size_t i);

  std::vector<const ChosenBuild*> jobs_;
  BuildRunOptions options_;
  build::GitClient& git_;
  build::BuildObserver& observer_;
  OnBuilt on_built_;
  build::Builder with_isolation_, without_isolation_;
  std::vector<std::optional<fetch::FetchedArtifact>> sources_;  // written before ready(i)
  std::vector<BuildOutcome> outcomes_;
  std::mutex errors_mutex_;
  std::vector<std::string> errors_;
  std::unique_ptr<ReadyScheduler> scheduler_;  // last: its workers stop before the state above goes
};

}  // namespace strata::plan
