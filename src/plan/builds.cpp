#include "plan/builds.hpp"

#include <algorithm>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "build/source.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

std::string label(const ChosenBuild& b) { return fmt::format("{} {}", b.package->name, b.version); }

}  // namespace

build::GitSpec git_spec(const ChosenBuild& b) {
  const lock::Source& source = b.package->source;
  return {label(b), source.url.empty() ? source.path : source.url, source.requested_revision,
          source.commit_id, source.subdirectory};
}

namespace {

/// The verified source tree of one job; the error names the package.
Result<build::SourceTree> source_tree(const ChosenBuild& b, const fetch::FetchedArtifact* file,
                                      const fs::path& cache_root, build::GitClient& git) {
  const lock::Source& source = b.package->source;
  switch (b.from) {
    case BuildFrom::sdist:
    case BuildFrom::archive:
      if (file == nullptr)
        return fail(ErrorKind::runtime,
                    fmt::format("{}: internal error: its source was not fetched", label(b)));
      return build::archive_source(file->path, file->sha256, source.subdirectory, cache_root, {});
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
      return build::git_source(git, git_spec(b), cache_root);
  }
  return fail(ErrorKind::runtime, "unknown source");
}

build::BuildOptions with_isolation(build::BuildOptions options, bool isolation) {
  options.isolation = isolation;
  return options;
}

}  // namespace

ReadyScheduler::ReadyScheduler(std::vector<std::uint64_t> sizes, unsigned threads,
                               const std::vector<std::size_t>& ready_now, Work work)
    : work_(std::move(work)), sizes_(std::move(sizes)) {
  for (std::size_t i : ready_now)
    if (i < sizes_.size() && made_ready_.insert(i).second) queue_.push_back(i);
  const std::size_t n = std::min<std::size_t>(std::max(1u, threads), sizes_.size());
  for (std::size_t t = 0; t < n; ++t) threads_.emplace_back([this] { this->work(); });
}

ReadyScheduler::~ReadyScheduler() {
  cancel();
  wait();
}

void ReadyScheduler::ready(std::size_t i, std::optional<std::uint64_t> size) {
  {
    std::lock_guard lock(mutex_);
    if (i >= sizes_.size() || !made_ready_.insert(i).second) return;
    if (size) sizes_[i] = *size;
    if (cancelled_) return;
    queue_.push_back(i);
  }
  changed_.notify_all();
}

void ReadyScheduler::cancel() {
  {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    queue_.clear();
  }
  changed_.notify_all();
}

void ReadyScheduler::wait() {
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return finished_ == sizes_.size() || (cancelled_ && finished_ == started_); });
  }
  changed_.notify_all();
  threads_.clear();  // joins: every worker sees that nothing is left to start
}

void ReadyScheduler::work() {
  while (true) {
    std::size_t item = 0;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return cancelled_ || !queue_.empty() || started_ == sizes_.size(); });
      if (queue_.empty()) return;  // cancelled, or every item started
      auto best = std::min_element(queue_.begin(), queue_.end(), [&](std::size_t a, std::size_t b) {
        return sizes_[a] != sizes_[b] ? sizes_[a] > sizes_[b] : a < b;
      });
      item = *best;
      queue_.erase(best);
      ++started_;
    }
    work_(item);
    {
      std::lock_guard lock(mutex_);
      ++finished_;
    }
    changed_.notify_all();
  }
}

BuildRun::BuildRun(std::vector<const ChosenBuild*> jobs, const BuildRunOptions& options,
                   build::GitClient& git, fetch::HttpTransport& transport,
                   fetch::CredentialResolver& credentials, build::BuildObserver& observer, OnBuilt on_built)
    : jobs_(std::move(jobs)),
      options_(options),
      git_(git),
      observer_(observer),
      on_built_(std::move(on_built)),
      with_isolation_(with_isolation(options.build, true), transport, credentials),
      without_isolation_(with_isolation(options.build, false), transport, credentials),
      sources_(jobs_.size()),
      outcomes_(jobs_.size()) {
  std::vector<std::uint64_t> sizes;
  std::vector<std::size_t> ready_now;
  for (std::size_t i = 0; i < jobs_.size(); ++i) {
    const auto& request = jobs_[i]->request;
    sizes.push_back(request ? request->size.value_or(0) : 0);
    if (!request) ready_now.push_back(i);
  }
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  scheduler_ = std::make_unique<ReadyScheduler>(std::move(sizes), options.jobs == 0 ? cores : options.jobs,
                                                ready_now, [this](std::size_t i) { run(i); });
}

BuildRun::~BuildRun() { scheduler_.reset(); }

void BuildRun::source_arrived(std::size_t i, const fetch::FetchedArtifact& file) {
  if (i >= jobs_.size() || !jobs_[i]->request || sources_[i]) return;
  sources_[i] = file;  // before ready(): the worker that takes job i sees it
  scheduler_->ready(i, file.size);
}

void BuildRun::run(std::size_t i) {
  const ChosenBuild& b = *jobs_[i];
  auto tree = source_tree(b, sources_[i] ? &*sources_[i] : nullptr, options_.build.cache_root, git_);
  Result<build::BuiltWheel> built = tree ? Result<build::BuiltWheel>() : std::unexpected(tree.error());
  if (tree) {
    build::BuildSource source{.tree = tree->tree,
                              .source_key = tree->source_key,
                              .name = b.package->name,
                              .version = b.version,
                              .source_date_epoch = tree->source_date_epoch,
                              .editable = b.editable};
    const bool no_isolation =
        options_.no_isolation || options_.no_isolation_packages.contains(b.package->name);
    built = (no_isolation ? without_isolation_ : with_isolation_).build(source, observer_);
  }
  if (!built) {
    std::lock_guard lock(errors_mutex_);
    errors_.push_back(built.error().message);
    return;
  }
  outcomes_[i] = {std::move(*built), b.source_key, b.package->source.editable};
  on_built_(i, outcomes_[i]);
}

Result<std::vector<BuildOutcome>> BuildRun::finish() {
  bool missing = false;
  for (std::size_t i = 0; i < jobs_.size(); ++i)
    if (jobs_[i]->request && !sources_[i]) {
      std::lock_guard lock(errors_mutex_);
      errors_.push_back(fmt::format("{}: internal error: its source was not fetched", label(*jobs_[i])));
      missing = true;
    }
  if (missing) scheduler_->cancel();
  scheduler_->wait();
  if (errors_.size() == 1) return fail(ErrorKind::runtime, errors_.front());
  if (!errors_.empty()) {
    std::string message = fmt::format("{} builds failed:", errors_.size());
    for (const auto& e : errors_) message += "\n" + e;
    return fail(ErrorKind::runtime, message);
  }
  return outcomes_;
}

}  // namespace strata::plan
