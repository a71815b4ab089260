#include "plan/builds.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "build/source.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

std::string label(const ChosenBuild& b) { return fmt::format("{} {}", b.package->name, b.version); }

/// The verified source tree of one job; the error names the package.
Result<build::SourceTree> source_tree(const BuildJob& job, const fs::path& cache_root,
                                      build::GitClient& git) {
  const ChosenBuild& b = *job.build;
  const lock::Source& source = b.package->source;
  switch (b.from) {
    case BuildFrom::sdist:
    case BuildFrom::archive:
      if (job.source == nullptr)
        return fail(ErrorKind::runtime,
                    fmt::format("{}: internal error: its source was not fetched", label(b)));
      return build::archive_source(job.source->path, job.source->sha256, source.subdirectory, cache_root, {});
    case BuildFrom::directory: {
      // An editable install builds in the user's tree itself (PEP 660), keyed by its path and
      // build configuration, not its files.
      if (b.editable) {
        auto key = build::editable_key(b.directory);
        if (key && *key != b.source_key)
          return fail(ErrorKind::runtime,
                      fmt::format("{}: the build configuration of {} changed while strata was installing "
                                  "it; run again",
                                  label(b), b.directory.string()));
        if (!key) return std::unexpected(key.error());
        return build::SourceTree{b.directory, b.source_key, std::nullopt};
      }
      auto tree = build::directory_source(b.directory, "", cache_root, true);
      if (!tree) return tree;
      if (tree->source_key != b.source_key)
        return fail(ErrorKind::runtime,
                    fmt::format("{}: {} changed while strata was installing it; run again", label(b),
                                b.directory.string()));
      return tree;
    }
    case BuildFrom::git:
      return build::git_source(git,
                               {label(b), source.url.empty() ? source.path : source.url,
                                source.requested_revision, source.commit_id, source.subdirectory},
                               cache_root);
  }
  return fail(ErrorKind::runtime, "unknown source");
}

std::uint64_t size_of(const BuildJob& job) { return job.source != nullptr ? job.source->size : 0; }

}  // namespace

Result<std::vector<BuildOutcome>> run_builds(
    const std::vector<BuildJob>& jobs, const BuildRunOptions& options, build::GitClient& git,
    fetch::HttpTransport& transport, fetch::CredentialResolver& credentials, build::BuildObserver& observer,
    const std::function<void(std::size_t, const BuildOutcome&)>& on_built) {
  std::vector<BuildOutcome> outcomes(jobs.size());
  if (jobs.empty()) return outcomes;
  build::BuildOptions isolated = options.build;
  isolated.isolation = true;
  build::BuildOptions shared = options.build;
  shared.isolation = false;
  build::Builder with_isolation(isolated, transport, credentials);
  build::Builder without_isolation(shared, transport, credentials);

  // Largest first: git and directory sources (size unknown) go last among equals.
  std::vector<std::size_t> order(jobs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return size_of(jobs[a]) > size_of(jobs[b]); });

  std::mutex mutex;
  std::vector<std::string> errors;
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    while (true) {
      std::size_t k = next.fetch_add(1);
      if (k >= order.size()) return;
      const std::size_t i = order[k];
      const BuildJob& job = jobs[i];
      auto tree = source_tree(job, options.build.cache_root, git);
      Result<build::BuiltWheel> built = tree ? Result<build::BuiltWheel>() : std::unexpected(tree.error());
      if (tree) {
        build::BuildSource source{.tree = tree->tree,
                                  .source_key = tree->source_key,
                                  .name = job.build->package->name,
                                  .version = job.build->version,
                                  .source_date_epoch = tree->source_date_epoch,
                                  .editable = job.build->editable};
        const bool no_isolation =
            options.no_isolation || options.no_isolation_packages.contains(job.build->package->name);
        built = (no_isolation ? without_isolation : with_isolation).build(source, observer);
      }
      if (!built) {
        std::lock_guard lock(mutex);
        errors.push_back(built.error().message);
        continue;
      }
      outcomes[i] = {std::move(*built), job.build->source_key, job.build->package->source.editable};
      on_built(i, outcomes[i]);
    }
  };
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t threads = std::min<std::size_t>(options.jobs == 0 ? cores : options.jobs, jobs.size());
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  }
  if (errors.size() == 1) return fail(ErrorKind::runtime, errors.front());
  if (!errors.empty()) {
    std::string message = fmt::format("{} builds failed:", errors.size());
    for (const auto& e : errors) message += "\n" + e;
    return fail(ErrorKind::runtime, message);
  }
  return outcomes;
}

}  // namespace strata::plan
