#include "plan/install.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "build/git.hpp"
#include "env/env_lock.hpp"
#include "env/installed.hpp"
#include "env/ledger.hpp"
#include "env/venv.hpp"
#include "fetch/curl_transport.hpp"
#include "fetch/fetch.hpp"
#include "lock/json.hpp"
#include "lock/model.hpp"
#include "pep/name.hpp"
#include "plan/artifacts.hpp"
#include "plan/builds.hpp"
#include "plan/decide.hpp"
#include "plan/prepare.hpp"
#include "plan/stamp.hpp"
#include "util/counts.hpp"
#include "util/interrupt.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"
#include "wheel/bytecode.hpp"
#include "wheel/conflicts.hpp"
#include "wheel/install.hpp"
#include "wheel/unpack.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

/// A file:// URL of an absolute path (RFC 8089), bytes other than unreserved ones and "/" escaped.
std::string file_url(const fs::path& path) {
  std::string out = "file://";
  for (unsigned char c : path.string()) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

/// A URL as a written file may hold it: no userinfo, credential query values redacted.
std::string recorded_url(std::string_view url) { return util::redact_url(util::without_userinfo(url)); }

/// PEP 610's direct_url.json for a package installed from a direct reference: an archive URL or
/// file (its hash), a git commit, a directory (editable or not). Empty for index packages and for
/// --find-links wheels (those are not the locked reference).
std::string direct_url_json(const Plan& plan, const Decision& d) {
  const ChosenBuild* build = plan.build(d.name);
  const ChosenWheel* wheel = build ? nullptr : &plan.wheel(d.name);
  if (wheel && wheel->unlocked) return {};
  const lock::Package& p = build ? *build->package : *wheel->package;
  const lock::Source& source = p.source;
  nlohmann::json out;
  if (build && build->from == BuildFrom::directory) {
    out = {{"url", file_url(build->directory)}, {"dir_info", nlohmann::json::object()}};
    if (build->editable) out["dir_info"]["editable"] = true;
  } else if (build && build->from == BuildFrom::git) {
    out = {{"url", recorded_url(source.url)},
           {"vcs_info", {{"vcs", "git"}, {"commit_id", source.commit_id}}}};
    if (!source.requested_revision.empty()) out["vcs_info"]["requested_revision"] = source.requested_revision;
  } else if (source.kind == lock::SourceKind::url || source.kind == lock::SourceKind::file) {
    const std::string sha256 = build ? build->request->sha256 : d.sha256;
    const std::string url =
        source.kind == lock::SourceKind::url
            ? recorded_url(source.url)
            : file_url(fs::absolute(plan.files.lock.parent_path() / source.path).lexically_normal());
    out = {{"url", url}, {"archive_info", {{"hash", "sha256=" + sha256}, {"hashes", {{"sha256", sha256}}}}}};
  } else {
    return {};
  }
  if (!source.subdirectory.empty()) out["subdirectory"] = source.subdirectory;
  return out.dump();
}

using Clock = std::chrono::steady_clock;

std::string env_or(const char* name, const std::string& fallback) {
  if (!fallback.empty()) return fallback;
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

bool inside(const fs::path& path, const fs::path& dir) {
  auto rel = path.lexically_normal().lexically_relative(dir.lexically_normal());
  return !rel.empty() && *rel.begin() != "..";
}

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

}  // namespace

BuildPolicy build_policy(const InstallOptions& options) {
  BuildPolicy policy;
  policy.allow = true;
  policy.no_build = options.no_build;
  for (const auto& name : options.only_binary)
    policy.only_binary.insert(name == ":all:" ? name : pep::normalize_name(name));
  for (const auto& dir : options.find_links) policy.find_links.emplace_back(fs::absolute(dir));
  policy.install_project = options.install_project;
  policy.no_editable = options.no_editable;
  return policy;
}

namespace {

fetch::FetchOptions fetch_options(const InstallOptions& options, const fs::path& cache_root) {
  fetch::FetchOptions fetch;
  fetch.index_url = env_or("STRATA_INDEX_URL", options.index_url);
  fetch.source_urls = value_or_throw(parse_source_overrides(options.sources));
  for (const auto& dir : options.find_links) fetch.find_links.emplace_back(fs::absolute(dir));
  fetch.offline = options.offline;
  fetch.cache_dir = cache_root;
  return fetch;
}

PlanRequest plan_request(const InstallOptions& options) {
  if (!options.layer.empty() && options.lock != ".")
    throw CommandError(ErrorKind::usage, fmt::format("give either a lock ({}) or --layer {}, not both",
                                                     options.lock, options.layer));
  return {.lock = options.layer.empty() ? options.lock : options.layer,
          .env = options.env,
          .python = options.python,
          .prefix = options.prefix,
          .target_dir = options.target_dir,
          .spec = options.spec,
          .only = options.only,
          .with = options.with,
          .without = options.without,
          .extras = options.extras,
          .all_extras = options.all_extras,
          .packages = options.packages,
          .all_packages = options.all_packages,
          .cache_dir = options.cache_dir,
          .locked = options.locked,
          .allow_replace = options.allow_replace,
          .exact = options.exact,
          .owner = options.owner,
          .layer = !options.layer.empty(),
          .default_target = true,
          .overlay = true,
          .build = build_policy(options),
          .interpreter = std::nullopt,
          .index = fetch_options(options, {})};
}

/// Creates the virtual environment of a target planned against its base interpreter; `created`
/// receives the line that says so (not when another install made it while this one waited for
/// the lock).
Target create_venv_target(const Target& planned, const env::ProbeOptions& probe, std::string& created) {
  auto venv = value_or_throw(env::create_venv(planned.root, planned.interpreter));
  if (venv.created)
    created =
        fmt::format("Created environment {} (Python {})", venv.dir.string(), planned.interpreter.version);
  Target target;
  target.interpreter = value_or_throw(env::probe_interpreter(venv.python.string(), probe));
  target.root = venv.dir;
  target.source = planned.source;
  return with_scheme(std::move(target), false);
}

std::string packages(std::size_t n) { return util::counted(n, "package"); }

/// A failed install creates nothing: the entries an install adds to the directory of a new
/// environment (all of it, when the directory was missing) are removed again unless keep() is
/// called before anything is committed. Destroy it before the environment lock is released.
class NewEnvironment {
 public:
  NewEnvironment() = default;
  NewEnvironment(const NewEnvironment&) = delete;
  NewEnvironment& operator=(const NewEnvironment&) = delete;
  ~NewEnvironment() {
    if (!armed_) return;
    std::error_code ec;
    if (!existed_) {
      fs::remove_all(root_, ec);
      return;
    }
    for (const auto& entry : fs::directory_iterator(root_, ec))
      if (!kept_.contains(entry.path().filename().string())) fs::remove_all(entry.path(), ec);
  }

  /// Before the environment lock is taken: what `root` holds.
  void before_lock(const fs::path& root) {
    root_ = root;
    std::error_code ec;
    existed_ = fs::exists(root, ec);
    for (const auto& entry : fs::directory_iterator(root, ec)) kept_.insert(entry.path().filename().string());
  }
  /// Once the lock is held, before the venv is made: what the directory holds now is all that
  /// stays after a failure. Another install may have made the environment while this one waited
  /// for the lock (it stays, whatever this run does) or failed and removed what it had made.
  void locked() {
    std::set<std::string> now;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_, ec)) now.insert(entry.path().filename().string());
    if (!now.empty()) existed_ = true;
    kept_ = std::move(now);
    armed_ = true;
  }
  /// The line saying the environment was made: said only once it stays (keep()).
  std::string created;
  /// Something is about to be committed: the environment stays, whatever happens next.
  void keep(InstallObserver& observer) {
    armed_ = false;
    if (!created.empty()) observer.on_phase(created);
    created.clear();
  }

 private:
  fs::path root_;
  bool existed_ = false, armed_ = false;
  std::set<std::string> kept_;
};

/// Takes the environment lock (before a new venv is made, so two installs into one new path do
/// not both create it), creates the venv of a target planned against its base, finishes or rolls
/// back what an interrupted run left, and decides the overlay again: what another writer did
/// meanwhile counts.
env::EnvLock lock_environment(Plan& plan, const InstallOptions& options, InstallObserver& observer,
                              NewEnvironment& new_environment) {
  env::EnvLock env_lock = value_or_throw(env::EnvLock::acquire(
      plan.target.root,
      {.timeout = std::nullopt, .on_wait = [&](std::string_view line) { observer.on_phase(line); }}));
  if (!plan.target.exists) {
    new_environment.locked();
    plan.target = create_venv_target(plan.target, plan.probe, new_environment.created);
  }
  auto recovered = value_or_throw(wheel::recover(plan.target.root / ".strata"));
  for (const auto& name : recovered.completed)
    observer.on_phase(fmt::format("Finished interrupted install of {}", name));
  for (const auto& name : recovered.rolled_back)
    observer.on_phase(fmt::format("Rolled back interrupted install of {}", name));
  plan.overlay = check_overlay(plan, options.allow_replace);
  return env_lock;
}

/// The report of the plan as decided: warnings, counts, problems and the --json document's plan.
InstallReport planned_report(const Plan& plan, const InstallOptions& options, InstallObserver& observer) {
  const Overlay& overlay = plan.overlay;
  if (overlay.migrated > 0)
    observer.on_phase(fmt::format("Owner {}: takes over {} recorded for {} by an older strata", plan.owner,
                                  packages(overlay.migrated), plan.legacy_owner));
  // Every warning, also in the --json document: the front half's (a stale lock) and the overlay's.
  std::vector<std::string> warnings = plan.warnings;
  auto warn = [&](const std::string& line) {
    observer.on_warning(line);
    warnings.push_back(line);
  };
  for (const auto& problem : overlay.installed.problems) warn(problem);
  for (const auto& warning : overlay.decisions.warnings) warn(warning);
  for (const auto& d : overlay.decisions.decisions)
    if (d.action == Action::replace)  // a conflict's line says it already
      for (const auto& b : d.broken)
        warn(fmt::format("replacing {} with {} breaks {} {} (requires {})", d.name, d.version.str(), b.name,
                         b.version, b.requirement));
  for (const auto& d : overlay.decisions.decisions)
    if (d.local_build) observer.on_phase(fmt::format("{}: {}", d.name, d.reason));
  InstallReport report;
  report.problems = plan.problems();
  report.kept = overlay.decisions.count(Action::keep);
  for (const auto& d : overlay.decisions.decisions) report.kept_local += d.local_build ? 1 : 0;
  report.conflicts = overlay.decisions.count(Action::conflict);
  (options.keep_removed ? report.kept_removed : report.removed) = overlay.removed.size();
  report.json = {{"lock", plan.files.lock.string()},       {"format", lock::format_name(plan.lock.format)},
                 {"lock_version", plan.lock.lock_version}, {"owner", plan.owner},
                 {"target", to_json(plan.target)},         {"selection", selection_json(plan)},
                 {"plan", to_json(overlay.decisions)},     {"dry_run", options.dry_run}};
  nlohmann::json removed = nlohmann::json::array();
  for (const auto& entry : overlay.removed)
    removed.push_back({{"name", entry.name},
                       {"version", entry.version},
                       {"action", options.keep_removed ? "keep" : "remove"},
                       {"reason", "no longer in the lock"}});
  report.json["plan"]["removed"] = std::move(removed);
  if (plan.fresh) report.json["content_hash_fresh"] = *plan.fresh;
  report.json["warnings"] = warnings;
  return report;
}

/// Lists the packages this install would build (--json "builds", and a line each); with
/// --no-build they are a problem (exit 3) instead.
std::vector<std::string> would_build(const Plan& plan) {
  std::vector<std::string> names;
  for (const auto& d : plan.overlay.decisions.decisions)
    if (const ChosenBuild* b = plan.build(d.name);
        b && (d.action == Action::install || d.action == Action::replace))
      names.push_back(fmt::format("{} {} ({})", d.name, b->version, to_string(b->from)));
  return names;
}

void plan_builds(const Plan& plan, const InstallOptions& options, InstallObserver& observer,
                 InstallReport& report) {
  nlohmann::json builds = nlohmann::json::array();
  std::vector<std::string> names;
  for (const auto& d : plan.overlay.decisions.decisions) {
    if (d.action != Action::install && d.action != Action::replace) continue;
    const ChosenBuild* b = plan.build(d.name);
    if (b == nullptr) continue;
    builds.push_back({{"name", d.name},
                      {"version", b->version},
                      {"from", to_string(b->from)},
                      {"source", b->source_key},
                      {"editable", b->editable},
                      {"project", b->project}});
    names.push_back(fmt::format("{} {} ({})", d.name, b->version, to_string(b->from)));
  }
  report.json["builds"] = builds;
  if (options.dry_run && !options.no_build)
    for (const auto& name : names) observer.on_phase(fmt::format("Would build {}", name));
}

/// Every git source of the selection, to be built or kept as installed, checked against its remote
/// before anything changes: a locked branch or tag that now points elsewhere is an error even when
/// the package is installed already or its wheel is in the built-wheel cache (the lock is out of
/// date). With --offline the installed ones are not checked (a line says so).
void verify_git_sources(const Plan& plan, const InstallOptions& options, build::GitClient& git,
                        InstallObserver& observer) {
  std::vector<std::string> errors;
  for (const auto& build : plan.choices.builds) {
    if (build.from != BuildFrom::git) continue;
    bool installing = false;
    for (const auto& d : plan.overlay.decisions.decisions)
      if (d.name == build.package->name)
        installing = d.action == Action::install || d.action == Action::replace;
    if (options.offline && !installing) {
      observer.on_warning(fmt::format("{} {}: --offline: its locked git ref was not checked against {}",
                                      build.package->name, build.version,
                                      util::redact_url(build.package->source.url)));
      continue;
    }
    if (auto verified = build::verify_reference(git, git_spec(build)); !verified)
      errors.push_back(verified.error().message);
  }
  if (errors.size() == 1) throw CommandError(fail(ErrorKind::runtime, errors.front()).error());
  if (!errors.empty())
    throw CommandError(
        fail(ErrorKind::runtime, fmt::format("{} git sources:\n{}", errors.size(), util::join(errors, "\n")))
            .error());
}

/// Finishes a report that stops before fetching: exit 3 with its problems, or a dry run.
InstallReport stopped(InstallReport report, const Plan& plan, Clock::time_point started) {
  report.elapsed = since(started);
  if (!report.problems.empty()) {
    report.exit_code = exit_code(ErrorKind::check);
    report.json["ok"] = false;
    report.json["problems"] = report.problems;
    return report;
  }
  report.installed = plan.overlay.decisions.count(Action::install);
  report.replaced = plan.overlay.decisions.count(Action::replace);
  report.summary = dry_run_summary(report);
  report.json["ok"] = true;
  report.json["summary"] = report.summary;
  return report;
}

/// Takes ownership of distributions strata installed at the locked version whose ledger entry a
/// killed run never wrote (the .dist-info is committed before the ledger is saved).
void adopt_orphans(Plan& plan) {
  for (const auto& d : plan.overlay.decisions.decisions) {
    if (d.action != Action::keep || !d.installed_owner.empty() || d.installer != "strata") continue;
    const auto* dist = plan.overlay.installed.find(d.name);
    if (!dist) continue;
    const auto* build = plan.build(d.name);
    plan.overlay.ledger.record_install(
        {.name = d.name,
         .version = dist->version,
         .owner = plan.owner,
         .wheel = build ? build->source_key : plan.wheel(d.name).request.filename,
         .sha256 = build ? std::string() : plan.wheel(d.name).request.sha256,
         .dist_info = dist->path.string(),
         .installed_at = std::nullopt,
         .built_from = build ? std::optional<std::string>(build->source_key) : std::nullopt,
         .build_requirements = {}});
  }
}

/// How the builds of this install run (--build-jobs, isolation, constraints).
BuildRunOptions build_run_options(const Plan& plan, const InstallOptions& options,
                                  const fetch::FetchOptions& fetching) {
  BuildRunOptions run;
  run.build.interpreter = options.build_interpreter ? *options.build_interpreter : plan.target.interpreter;
  run.build.cache_root = plan.cache_root;
  run.build.fetch = fetching;
  if (!options.build_constraints.empty())
    run.build.build_constraints = fs::absolute(options.build_constraints);
  for (const auto& c : plan.lock.build_constraints)
    run.build.lock_constraints.push_back(
        {fmt::format("{}{}{}", c.display_name, c.constraint, c.marker ? " ; " + c.marker->str() : ""),
         fmt::format("{} [manifest] build-constraints", plan.lock.source_name)});
  run.no_isolation = options.no_build_isolation;
  for (const auto& name : options.no_build_isolation_packages)
    run.no_isolation_packages.insert(pep::normalize_name(name));
  run.jobs = options.build_jobs;
  return run;
}

/// Prepares wheels on worker threads as their files arrive, largest first; finish() waits for all
/// of them, and never for a wheel that cannot come. Results are kept in the order of the decisions
/// they belong to.
class PreparePool {
 public:
  using Prepare = std::function<Result<wheel::PreparedWheel>(const fetch::FetchedArtifact&, const Decision&)>;

  PreparePool(const std::vector<const Decision*>& todo, std::function<std::string(const Decision&)> sha256_of,
              Prepare prepare)
      : todo_(todo), prepare_(std::move(prepare)), results_(todo.size()) {
    for (std::size_t i = 0; i < todo.size(); ++i) {
      auto [it, inserted] = index_of_.emplace(sha256_of(*todo[i]), i);
      // Two decisions for one file (two versions of one name given one wheel): the second would
      // never be prepared. Refuse before any work starts.
      if (!inserted)
        throw CommandError(
            fail(ErrorKind::runtime,
                 fmt::format("internal error: {} {} and {} {} are to be installed from the same "
                             "file (sha256 {})",
                             todo[it->second]->name, todo[it->second]->version.str(), todo[i]->name,
                             todo[i]->version.str(), it->first))
                .error());
    }
    const unsigned threads = std::max(2u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < std::min<std::size_t>(threads, todo.size()); ++i)
      threads_.emplace_back([this] { work(); });
  }
  PreparePool(const PreparePool&) = delete;
  PreparePool& operator=(const PreparePool&) = delete;
  ~PreparePool() { close(); }

  /// Queues the wheel of a fetched artifact (called from the fetching thread); a second call for
  /// the same artifact does nothing.
  void add(const fetch::FetchedArtifact& artifact) {
    auto it = index_of_.find(artifact.sha256);
    if (it == index_of_.end()) return;
    {
      std::lock_guard lock(mutex_);
      if (!queued_.insert(it->second).second) return;
      queue_.push({artifact.size, it->second, artifact});
    }
    changed_.notify_one();
  }

  /// Queues the wheel of the decision at `index` (a built wheel, not known before the build).
  void add_at(std::size_t index, const fetch::FetchedArtifact& artifact) {
    {
      std::lock_guard lock(mutex_);
      if (!queued_.insert(index).second) return;
      queue_.push({artifact.size, index, artifact});
    }
    changed_.notify_one();
  }

  /// Waits until every queued wheel is prepared, once every file has been added; the first real
  /// failure, if any (a disk full, a refused wheel), never a generic one in its place. A wheel
  /// whose file never arrived is an error naming it, not a wait.
  Result<std::vector<wheel::PreparedWheel>> finish() {
    {
      std::unique_lock lock(mutex_);
      done_changed_.wait(lock, [&] { return finished_ == queued_.size() || failed_; });
    }
    close();
    for (auto& r : results_) {
      if (r && !*r) return std::unexpected(r->error());
    }
    for (std::size_t i = 0; i < results_.size(); ++i) {
      if (!results_[i])
        return fail(ErrorKind::runtime,
                    fmt::format("internal error: {} {} was never prepared (its file {})", todo_[i]->name,
                                todo_[i]->version.str(), queued_.contains(i) ? "arrived" : "never arrived"));
    }
    std::vector<wheel::PreparedWheel> out;
    for (auto& r : results_) out.push_back(std::move(**r));
    return out;
  }

 private:
  struct Job {
    std::uint64_t size;
    std::size_t index;
    fetch::FetchedArtifact artifact;
    bool operator<(const Job& o) const { return size < o.size; }
  };

  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    changed_.notify_all();
    threads_.clear();  // joins
  }

  void work() {
    while (true) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return closed_ || failed_ || !queue_.empty(); });
        if (closed_ || failed_) return;
        job = queue_.top();
        queue_.pop();
      }
      auto result = prepare_(job.artifact, *todo_[job.index]);
      {
        std::lock_guard lock(mutex_);
        failed_ = failed_ || !result;
        results_[job.index] = std::move(result);
        ++finished_;
      }
      done_changed_.notify_all();
      changed_.notify_all();
    }
  }

  const std::vector<const Decision*>& todo_;
  Prepare prepare_;
  std::map<std::string, std::size_t> index_of_;
  std::mutex mutex_;
  std::condition_variable changed_, done_changed_;
  std::priority_queue<Job> queue_;
  std::set<std::size_t> queued_;
  std::vector<std::optional<Result<wheel::PreparedWheel>>> results_;
  std::size_t finished_ = 0;
  bool closed_ = false, failed_ = false;
  std::vector<std::jthread> threads_;  // last: joined before the state above is destroyed
};

/// Forwards fetch progress to the install observer and hands every verified file to the pool
/// and to the builds (an sdist's build starts when it arrives).
class PipelineObserver : public fetch::ProgressObserver {
 public:
  PipelineObserver(InstallObserver& inner, PreparePool& pool,
                   std::function<void(const fetch::FetchedArtifact&)> source_arrived)
      : inner_(inner), pool_(pool), source_arrived_(std::move(source_arrived)) {}
  void on_start(std::size_t files, std::uint64_t bytes) override { inner_.on_start(files, bytes); }
  void on_bytes(std::int64_t delta) override { inner_.on_bytes(delta); }
  void on_done(const fetch::FetchedArtifact& artifact) override {
    inner_.on_done(artifact);
    pool_.add(artifact);
    source_arrived_(artifact);
  }
  void on_retry(std::string_view url, int attempt, std::chrono::milliseconds delay,
                std::string_view reason) override {
    inner_.on_retry(url, attempt, delay, reason);
  }
  void on_detail(std::string_view message) override { inner_.on_detail(message); }

 private:
  InstallObserver& inner_;
  PreparePool& pool_;
  std::function<void(const fetch::FetchedArtifact&)> source_arrived_;
};

/// Build events (from the build threads) as phase and detail lines.
class BuildEvents : public build::BuildObserver {
 public:
  explicit BuildEvents(InstallObserver& inner) : inner_(inner) {}
  void on_build_start(const build::BuildSource& source) override {
    inner_.on_phase(fmt::format("Building {} {}", source.name, source.version));
  }
  void on_detail(std::string_view message) override { inner_.on_detail(message); }

 private:
  InstallObserver& inner_;
};

/// The wheels to install, fetched and prepared in staging, in decision order.
struct Staged {
  std::vector<const Decision*> todo;
  std::vector<fetch::FetchedArtifact> fetched;
  std::vector<std::optional<BuildOutcome>> built;  ///< per todo entry: the build that made its wheel
  std::vector<wheel::PreparedWheel> prepared;
  Clock::time_point planned, fetched_at, prepared_at;
};

/// The interpreter that byte-compiles for the target: its own, or for a described one (no
/// interpreter) a host interpreter of the same implementation and X.Y (env::find_host_python,
/// probed to be sure). Empty with the reason when there is none: then nothing is compiled.
struct BytecodeChoice {
  fs::path python;
  std::string reason;
};
BytecodeChoice bytecode_interpreter(const Plan& plan, const InstallOptions& options) {
  if (options.no_compile) return {{}, "--no-compile"};
  const env::Interpreter& target = plan.target.interpreter;
  if (!plan.target.described) return {target.executable, ""};
  const std::string wanted = fmt::format("{} {}.{}{}", target.implementation == "pypy" ? "PyPy" : "Python",
                                         target.major, target.minor, target.tag_env.gil_disabled ? "t" : "");
  auto host = env::find_host_python(target);
  if (!host)
    return {
        {},
        fmt::format("no host {} to compile with (looked for {}{}.{} on PATH and in pyenv's versions)", wanted,
                    target.implementation == "pypy" ? "pypy" : "python", target.major, target.minor)};
  auto probed = env::probe_interpreter(host->string(), plan.probe);
  if (!probed)
    return {{}, fmt::format("the host {} could not be probed: {}", wanted, probed.error().message)};
  if (probed->implementation != target.implementation || probed->major != target.major ||
      probed->minor != target.minor || probed->tag_env.gil_disabled != target.tag_env.gil_disabled)
    return {{},
            fmt::format("{} is Python {} ({}), not {}", host->string(), probed->version,
                        probed->implementation, wanted)};
  return {*host, ""};
}

/// Fetches what must be installed; each wheel is prepared (unpacked, staged, compiled) as soon as
/// its file is verified, while the others download.
Staged fetch_and_prepare(const Plan& plan, const InstallOptions& options, InstallObserver& observer,
                         build::GitClient& git, InstallReport& report) {
  Staged staged;
  for (const auto& d : plan.overlay.decisions.decisions)
    if (d.action == Action::install || d.action == Action::replace) staged.todo.push_back(&d);
  staged.planned = staged.fetched_at = staged.prepared_at = Clock::now();
  if (std::size_t swept = wheel::sweep_unpack_cache(plan.cache_root / "unpacked"))
    observer.on_detail(fmt::format("removed {} unpacked trees that interrupted runs left in {}", swept,
                                   (plan.cache_root / "unpacked").string()));
  if (staged.todo.empty()) return staged;
  const auto& todo = staged.todo;
  const Target& target = plan.target;
  std::unique_ptr<wheel::Compiler> compiler;
  const BytecodeChoice bytecode = bytecode_interpreter(plan, options);
  report.json["bytecode"] = {{"compiled", !bytecode.python.empty()},
                             {"interpreter", bytecode.python.string()},
                             {"skipped_because", bytecode.reason}};
  if (!bytecode.python.empty()) {
    compiler = value_or_throw(wheel::Compiler::start(
        bytecode.python, static_cast<unsigned>(std::min<std::size_t>(
                             std::max(1u, std::thread::hardware_concurrency()), todo.size()))));
    compiler->on_progress(
        [&observer](std::size_t queued, std::size_t done) { observer.on_compiling(queued, done); });
  }
  const auto link_mode = value_or_throw(wheel::parse_link_mode(options.link_mode));
  const auto limits = value_or_throw(wheel::archive_limits_from_env());
  auto prepare = [&](const fetch::FetchedArtifact& file, const Decision& d) -> Result<wheel::PreparedWheel> {
    if (auto go_on = util::check_interrupted(); !go_on) return std::unexpected(go_on.error());
    wheel::WheelInstallOptions wheel_options;
    wheel_options.compile = compiler != nullptr;
    wheel_options.compiler = compiler.get();
    wheel_options.link_mode = link_mode;
    wheel_options.expected = wheel::ExpectedIdentity{d.name, d.version.str()};
    wheel_options.limits = limits;
    // PEP 610: a direct reference says where it came from (PEP 660: an editable one, its tree).
    wheel_options.direct_url_json = direct_url_json(plan, d);
    auto unpacked =
        wheel::unpack_to_cache(file.path, file.sha256, plan.cache_root / "unpacked", wheel_options.limits);
    if (!unpacked) return std::unexpected(unpacked.error());
    observer.on_unpacked(d.name, unpacked->entries.size());
    const fs::path unpacked_dir = unpacked->dir;
    wheel_options.unpacked = std::move(*unpacked);
    wheel::InstallTarget install_target{
        .scheme = target.scheme,
        .python = target.interpreter.executable,
        .state_dir = target.state_dir.empty() ? target.root / ".strata" : target.state_dir,
        .replacing = std::nullopt};
    // A version outside the target's library directories (a base environment seen through
    // system site-packages) is shadowed, never modified, as pip does.
    if (d.action == Action::replace &&
        (inside(d.installed_path, target.scheme.purelib) || inside(d.installed_path, target.scheme.platlib)))
      install_target.replacing = d.installed_path;
    auto prepared = wheel::prepare_wheel(file.path, install_target, std::move(wheel_options));
    // A refused wheel (RECORD, metadata) leaves nothing in the cache for the next run to trust.
    if (!prepared) wheel::discard_unpacked(unpacked_dir);
    return prepared;
  };
  // One request per wheel to install and per sdist/archive to build; git and directory sources
  // need no download.
  std::vector<fetch::ArtifactRequest> requests;
  std::vector<std::size_t> request_of(todo.size(), SIZE_MAX);
  std::vector<std::size_t> build_todo;  // todo index of each build
  for (std::size_t i = 0; i < todo.size(); ++i) {
    const ChosenBuild* build = plan.build(todo[i]->name);
    if (build) build_todo.push_back(i);
    if (build && !build->request) continue;
    request_of[i] = requests.size();
    requests.push_back(build ? *build->request : plan.wheel(todo[i]->name).request);
  }
  observer.on_phase(build_todo.empty() ? fmt::format("Installing {}", packages(todo.size()))
                                       : fmt::format("Installing {} ({} built from source)",
                                                     packages(todo.size()), build_todo.size()));
  observer.on_stage(Stage::unpack, todo.size());
  if (compiler) observer.on_stage(Stage::compile, 0);
  PreparePool pool(
      todo,
      [&](const Decision& d) {
        return plan.build(d.name) ? "build:" + d.name : plan.wheel(d.name).request.sha256;
      },
      prepare);
  fetch::CurlGlobal curl;
  const fetch::CurlOptions curl_options = value_or_throw(fetch::curl_options_from_env());
  fetch::CurlTransport transport(curl, curl_options);
  fetch::CredentialResolver credentials(fetch::process_env());
  const fetch::FetchOptions fetching = fetch_options(options, plan.cache_root);
  // Builds run while the files download, each as soon as its source is there, on worker threads
  // with a transport of their own (for build requirements). Declared after the pool: stopped first.
  fetch::CurlTransport build_transport(curl, curl_options);
  fetch::CredentialResolver build_credentials(fetch::process_env());
  BuildEvents events(observer);
  std::mutex built_mutex;
  std::vector<const ChosenBuild*> jobs;
  std::map<std::string, std::size_t> job_of_source;  // sha256 of an sdist/archive -> its job
  for (std::size_t i : build_todo) {
    const ChosenBuild* build = plan.build(todo[i]->name);
    if (build->request) job_of_source[util::to_lower(build->request->sha256)] = jobs.size();
    jobs.push_back(build);
  }
  staged.fetched.resize(todo.size());  // before any build starts: builds fill their entries
  staged.built.resize(todo.size());
  std::optional<BuildRun> builds;
  if (!jobs.empty())
    builds.emplace(
        jobs, build_run_options(plan, options, fetching), git, build_transport, build_credentials, events,
        [&](std::size_t j, const BuildOutcome& outcome) {
          const std::size_t i = build_todo[j];
          if (outcome.wheel.cached)
            observer.on_detail(
                fmt::format("{} {}: built wheel from the cache", todo[i]->name, todo[i]->version.str()));
          else
            observer.on_phase(fmt::format("Built {} {} in {:.2f}s", todo[i]->name, todo[i]->version.str(),
                                          static_cast<double>(outcome.wheel.duration.count()) / 1000.0));
          fetch::FetchedArtifact file{.package = todo[i]->name,
                                      .filename = outcome.wheel.filename,
                                      .sha256 = outcome.wheel.sha256,
                                      .path = outcome.wheel.wheel,
                                      .size = 0,
                                      .origin = fetch::ArtifactOrigin::cache};
          {
            std::lock_guard lock(built_mutex);
            staged.fetched[i] = file;
            staged.built[i] = outcome;
          }
          pool.add_at(i, file);
        });
  auto source_arrived = [&](const fetch::FetchedArtifact& file) {
    if (!builds) return;
    if (auto it = job_of_source.find(util::to_lower(file.sha256)); it != job_of_source.end())
      builds->source_arrived(it->second, file);
  };
  PipelineObserver pipeline(observer, pool, source_arrived);
  // A failed download stops the install: builds not started never start (~BuildRun).
  auto fetched = fetch::fetch_all(requests, fetching, transport, credentials, pipeline);
  observer.on_stage_done(Stage::download);
  if (!fetched) throw CommandError(fetched.error());
  for (std::size_t i = 0; i < todo.size(); ++i) {
    if (request_of[i] == SIZE_MAX) continue;
    const auto& f = (*fetched)[request_of[i]];
    report.downloaded += f.origin == fetch::ArtifactOrigin::download ? 1 : 0;
    if (!plan.build(todo[i]->name) && f.origin != fetch::ArtifactOrigin::download)
      ++(f.origin == fetch::ArtifactOrigin::find_links ? report.linked : report.cached);
    // In case the fetch layer reported a file done without the event.
    if (plan.build(todo[i]->name)) {
      source_arrived(f);
    } else {
      std::lock_guard lock(built_mutex);
      staged.fetched[i] = f;
      pool.add(f);
    }
  }
  staged.fetched_at = Clock::now();
  if (builds)
    if (auto outcomes = builds->finish(); !outcomes)
      throw CommandError(outcomes.error());  // the pool discards what it staged
  auto prepared = pool.finish();
  observer.on_stage_done(Stage::unpack);
  if (compiler) observer.on_stage_done(Stage::compile);
  staged.prepared = value_or_throw(std::move(prepared));
  staged.prepared_at = Clock::now();
  return staged;
}

/// Refuses the install, before anything is committed, when a prepared wheel would overwrite a file
/// it does not own or another wheel's (SPEC "Installing").
void check_conflicts(const Plan& plan, const Staged& staged) {
  value_or_throw(wheel::check_conflicts(staged.prepared, plan.overlay.installed));
}

/// Commits each prepared wheel atomically and records it in the (in-memory) ledger; on a failure
/// what is committed so far stays installed and recorded, and the failed package is absent.
nlohmann::json commit(Plan& plan, Staged& staged, InstallObserver& observer, InstallReport& report) {
  env::Ledger& ledger = plan.overlay.ledger;
  adopt_orphans(plan);
  nlohmann::json results = nlohmann::json::array();
  if (!staged.todo.empty()) observer.on_stage(Stage::commit, staged.todo.size());
  for (std::size_t i = 0; i < staged.todo.size(); ++i) {
    const Decision& d = *staged.todo[i];
    const auto& fetched = staged.fetched[i];
    auto done = wheel::commit_wheel(std::move(staged.prepared[i]));
    if (!done) {
      (void)ledger.save(plan.target.root);
      throw CommandError(done.error());
    }
    const auto& built = staged.built[i];
    const ChosenWheel* chosen = built ? nullptr : &plan.wheel(d.name);
    // A built wheel is recorded under its source key (decide compares it with the next plan's).
    ledger.record_install(
        {.name = d.name,
         .version = done->version,
         .owner = plan.owner,
         .wheel = built ? built->source_key : fetched.filename,
         .sha256 = fetched.sha256,
         .dist_info = done->dist_info.string(),
         .installed_at = std::nullopt,
         .built_from = built ? std::optional<std::string>(built->source_key) : std::nullopt,
         .build_requirements = built ? built->wheel.build_requirements : std::vector<std::string>{}});
    (d.action == Action::replace ? report.replaced : report.installed) += 1;
    nlohmann::json result = {
        {"name", d.name},
        {"version", done->version},
        {"action", to_string(d.action)},
        {"wheel", fetched.filename},
        {"sha256", fetched.sha256},
        {"origin", built ? std::string("build") : std::string(fetch::to_string(fetched.origin))},
        {"locked", chosen == nullptr || !chosen->unlocked},
        {"files", done->files.size()},
        {"compiled", done->compiled}};
    if (built) {
      const ChosenBuild* build = plan.build(d.name);
      result["build"] = {{"from", to_string(build->from)},
                         {"source", built->source_key},
                         {"build_requirements", built->wheel.build_requirements},
                         {"backend", built->wheel.backend},
                         {"cached", built->wheel.cached},
                         {"duration_ms", built->wheel.duration.count()},
                         {"editable", built->wheel.editable},
                         {"editable_requested", built->editable_requested}};
      if (build->from == BuildFrom::git) result["build"]["commit"] = build->package->source.commit_id;
      if (!built->wheel.log.empty()) result["build"]["log"] = built->wheel.log.string();
      if (built->wheel.cached)
        ++report.builds_cached;
      else
        ++report.built;
    }
    results.push_back(std::move(result));
    observer.on_installed({.name = d.name,
                           .version = done->version,
                           .replaced_version = d.action == Action::replace && d.installed_version
                                                   ? std::string_view(*d.installed_version)
                                                   : std::string_view(),
                           .origin = fetched.origin,
                           .built = built.has_value(),
                           .build_cached = built && built->wheel.cached,
                           .bytes = fetched.size,
                           .done = i + 1,
                           .total = staged.todo.size()});
  }
  if (!staged.todo.empty()) observer.on_stage_done(Stage::commit);
  return results;
}

/// Removes what this owner installed before and the lock no longer has (unless --keep-removed):
/// only a distribution still installed at the version the ledger records, inside the target's
/// library directories; an entry whose distribution is gone or was replaced by someone else is
/// only forgotten.
nlohmann::json remove_unlocked(Plan& plan, const InstallOptions& options, InstallObserver& observer,
                               InstallReport& report) {
  nlohmann::json results = nlohmann::json::array();
  if (options.keep_removed) return results;
  const Target& target = plan.target;
  for (const auto& entry : plan.overlay.removed) {
    const auto* dist = plan.overlay.installed.find(entry.name);
    if (dist && owner_of(*dist, plan.overlay.ledger) == plan.owner &&
        (inside(dist->path, target.scheme.purelib) || inside(dist->path, target.scheme.platlib))) {
      wheel::InstallTarget install_target{
          .scheme = target.scheme,
          .python = target.interpreter.executable,
          .state_dir = target.state_dir.empty() ? target.root / ".strata" : target.state_dir,
          .replacing = std::nullopt};
      auto removed = wheel::remove_distribution(dist->path, install_target);
      if (!removed) {
        (void)plan.overlay.ledger.save(target.root);
        throw CommandError(removed.error());
      }
      observer.on_phase(
          fmt::format("Removed {} {} (no longer in the lock)", dist->display_name, dist->version));
      results.push_back({{"name", entry.name},
                         {"version", entry.version},
                         {"action", "remove"},
                         {"files", removed->files}});
    }
    plan.overlay.ledger.record_removal(entry.name);
  }
  report.removed = results.size();
  return results;
}

/// Saves what was committed to the environment's state (only this owner's file changes, unless a
/// replacement took another owner's package), and leaves no empty state directories behind.
void record(Plan& plan) {
  value_or_throw(plan.overlay.ledger.save(plan.target.root));
  wheel::remove_empty_state_dirs(plan.target.root / ".strata");
}

/// Finishes the report of an install that ran: summary, per-package results and timings.
InstallReport finished(InstallReport report, nlohmann::json results, const Staged& staged,
                       Clock::time_point started) {
  report.elapsed = since(started);
  report.summary = summary_line(report);
  if (const auto& bytecode = report.json.value("bytecode", nlohmann::json::object());
      bytecode.value("compiled", true) == false && bytecode.value("skipped_because", "") != "--no-compile")
    report.summary += fmt::format(" (no bytecode: {})", bytecode.value("skipped_because", ""));
  report.json["ok"] = true;
  report.json["results"] = std::move(results);
  report.json["summary"] = report.summary;
  auto ms = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  // Preparing overlaps fetching: "prepare_ms" is only what was left after the last file arrived.
  report.json["timings"] = {{"plan_ms", ms(staged.planned - started)},
                            {"fetch_ms", ms(staged.fetched_at - staged.planned)},
                            {"prepare_ms", ms(staged.prepared_at - staged.fetched_at)},
                            {"commit_ms", ms(Clock::now() - staged.prepared_at)},
                            {"total_ms", report.elapsed.count()}};
  return report;
}

/// "3 replaced, 12 kept (2 local builds), 1 removed as no longer locked": what else the install did,
/// zero counts left out.
std::vector<std::string> other_counts(const InstallReport& report, bool dry_run) {
  std::vector<std::string> out;
  if (report.replaced > 0)
    out.push_back(fmt::format("{} {}", report.replaced, dry_run ? "to replace" : "replaced"));
  if (report.kept > 0)
    out.push_back(report.kept_local == 0 ? fmt::format("{} kept", report.kept)
                                         : fmt::format("{} kept ({})", report.kept,
                                                       util::counted(report.kept_local, "local build")));
  if (report.removed > 0)
    out.push_back(
        fmt::format("{} {} as no longer locked", report.removed, dry_run ? "to remove" : "removed"));
  if (report.kept_removed > 0)
    out.push_back(fmt::format("{} no longer locked kept (--keep-removed)", report.kept_removed));
  return out;
}

/// "30 downloaded, 12 cached, 2 built (1 from the cache)": where the installed wheels came from.
std::vector<std::string> origin_counts(const InstallReport& report) {
  std::vector<std::string> out;
  if (report.downloaded > 0) out.push_back(fmt::format("{} downloaded", report.downloaded));
  if (report.cached > 0) out.push_back(fmt::format("{} cached", report.cached));
  if (report.linked > 0) out.push_back(fmt::format("{} from --find-links", report.linked));
  if (report.built + report.builds_cached > 0)
    out.push_back(report.builds_cached == 0
                      ? fmt::format("{} built", report.built)
                      : fmt::format("{} built ({} from the cache)", report.built + report.builds_cached,
                                    report.builds_cached));
  return out;
}

/// " (a, b; c)" or "".
std::string in_parentheses(const std::vector<std::string>& first, const std::vector<std::string>& second) {
  std::string inner = util::join(first, ", ");
  if (!second.empty()) inner += (inner.empty() ? "" : "; ") + util::join(second, ", ");
  return inner.empty() ? std::string() : " (" + inner + ")";
}

/// Counts the warnings planning gives while passing every line on: a stamped answer could not
/// repeat them, so a plan that warned gets no stamp.
class WarningCounter final : public PlanObserver {
 public:
  explicit WarningCounter(PlanObserver& inner) : inner_(inner) {}
  void on_phase(std::string_view line) override { inner_.on_phase(line); }
  void on_warning(std::string_view line) override {
    ++warnings;
    inner_.on_warning(line);
  }
  std::size_t warnings = 0;

 private:
  PlanObserver& inner_;
};

/// Counts every line: the re-read before a stamp must give none (a stamped answer prints none).
class LineCounter final : public InstallObserver {
 public:
  void on_phase(std::string_view /*line*/) override { ++lines; }
  void on_warning(std::string_view /*line*/) override { ++lines; }
  std::size_t lines = 0;
};

/// The report of a no-op answered from the stamp (plan/stamp.hpp), or nullopt when there is no
/// stamp or it does not match. Read under the environment lock, as installs write it.
std::optional<InstallReport> answer_from_stamp(const StampFile& stamp, InstallObserver& observer,
                                               Clock::time_point started) {
  std::error_code ec;
  const fs::path& root = stamp.env_root;
  if (!fs::is_regular_file(stamp.path, ec) || !fs::is_directory(root, ec)) return std::nullopt;
  auto env_lock = env::EnvLock::acquire(
      root, {.timeout = std::nullopt, .on_wait = [&](std::string_view line) { observer.on_phase(line); }});
  if (!env_lock) return std::nullopt;
  auto stored = read_stamp(stamp);
  if (!stored) {
    observer.on_detail(fmt::format("{}: the environment or the lock changed since the stamp {}",
                                   root.string(), stamp.path.string()));
    return std::nullopt;
  }
  observer.on_detail(fmt::format("{}: unchanged since the last install: answered from the stamp {}",
                                 root.string(), stamp.path.string()));
  // What interrupted runs left in the unpack cache goes as on every install (a few listings).
  if (std::size_t swept = wheel::sweep_unpack_cache(stamp.cache_root / "unpacked"))
    observer.on_detail(fmt::format("removed {} unpacked trees that interrupted runs left in {}", swept,
                                   (stamp.cache_root / "unpacked").string()));
  InstallReport report;
  report.kept = stored->value("kept", std::size_t{0});
  report.kept_local = stored->value("kept_local", std::size_t{0});
  report.kept_removed = stored->value("kept_removed", std::size_t{0});
  report.json = std::move((*stored)["json"]);
  report.elapsed = since(started);
  report.summary = summary_line(report);
  report.json["ok"] = true;
  report.json["results"] = nlohmann::json::array();
  report.json["summary"] = report.summary;
  report.json["stamp"] = {{"answered", true}, {"written", false}, {"path", stamp.path.string()}};
  report.json["timings"] = {{"total_ms", report.elapsed.count()}};
  return report;
}

/// After a successful install (or a no-op by the full path), still under the environment lock:
/// reads the environment again and stamps what a no-op would answer now. Returns whether it wrote.
bool stamp_install(const StampFile& stamp, Plan& plan, const InstallOptions& options, std::size_t warnings) {
  if (warnings > 0) return false;
  std::error_code ec;
  fs::create_directories(stamp.path.parent_path(), ec);
  if (ec) return false;
  nlohmann::json before = stamp_state(plan, options);
  if (before.is_null()) return false;
  plan.overlay = check_overlay(plan, options.allow_replace);
  const auto& decisions = plan.overlay.decisions;
  if (decisions.count(Action::keep) != decisions.decisions.size() ||
      (!options.keep_removed && !plan.overlay.removed.empty()))
    return false;
  LineCounter lines;
  InstallReport noop = planned_report(plan, options, lines);
  if (lines.lines > 0 || !noop.problems.empty()) return false;
  noop.json["builds"] = nlohmann::json::array();
  nlohmann::json stored = {{"kept", noop.kept},
                           {"kept_local", noop.kept_local},
                           {"kept_removed", noop.kept_removed},
                           {"json", std::move(noop.json)}};
  return write_stamp(stamp, plan, options, before, stored);
}

}  // namespace

std::string summary_line(const InstallReport& report) {
  const double seconds = static_cast<double>(report.elapsed.count()) / 1000.0;
  const std::size_t changed = report.installed + report.replaced;
  if (changed == 0 && report.removed == 0) {
    std::string kept = fmt::format("{} already installed", packages(report.kept));
    if (report.kept_local > 0) kept += fmt::format(" ({})", util::counted(report.kept_local, "local build"));
    if (report.kept_removed > 0)
      kept += fmt::format(", {} no longer locked kept (--keep-removed)", report.kept_removed);
    return fmt::format("Nothing to do: {} ({:.2f}s)", kept, seconds);
  }
  if (changed == 0) {
    InstallReport rest = report;
    rest.removed = 0;
    return fmt::format("Removed {} no longer locked{} in {:.2f}s", packages(report.removed),
                       in_parentheses(other_counts(rest, false), {}), seconds);
  }
  return fmt::format("Installed {}{} in {:.2f}s", packages(changed),
                     in_parentheses(other_counts(report, false), origin_counts(report)), seconds);
}

std::string dry_run_summary(const InstallReport& report) {
  return fmt::format("Would install {}{}; nothing was changed", packages(report.installed + report.replaced),
                     in_parentheses(other_counts(report, true), {}));
}

StagedWheels stage_wheels(const Plan& plan, const InstallOptions& options, InstallObserver& observer) {
  build::GitCli git_cli;
  build::MemoGit git(git_cli);
  InstallReport report;
  Staged staged = fetch_and_prepare(plan, options, observer, git, report);
  StagedWheels out;
  for (std::size_t i = 0; i < staged.todo.size(); ++i) {
    out.names.push_back(staged.todo[i]->name);
    const auto& built = staged.built[i];
    out.built_from.push_back(built ? std::optional<std::string>(built->source_key) : std::nullopt);
    out.build_requirements.push_back(built ? built->wheel.build_requirements : std::vector<std::string>{});
    out.built += built && !built->wheel.cached ? 1 : 0;
  }
  out.fetched = std::move(staged.fetched);
  out.prepared = std::move(staged.prepared);
  out.downloaded = report.downloaded;
  return out;
}

InstallReport run_install(const InstallOptions& options, InstallObserver& observer) {
  const auto started = Clock::now();
  if (is_described(options.spec) && options.env.empty() && options.prefix.empty() &&
      options.target_dir.empty())
    throw CommandError(
        ErrorKind::usage,
        fmt::format("--python-version {} --platform {}: a target without an interpreter is "
                    "installed with --prefix DIR or --target DIR (or --env of an existing venv of "
                    "that interpreter)",
                    options.spec.python_version,
                    options.spec.platform.empty() ? "(the host)" : options.spec.platform));
  const std::optional<StampFile> stamp = stamp_file(options);
  if (stamp)
    if (auto answered = answer_from_stamp(*stamp, observer, started)) return std::move(*answered);
  WarningCounter planning(observer);
  Plan plan = prepare(plan_request(options), planning);
  value_or_throw(util::check_interrupted());
  if (auto names = would_build(plan); options.no_build && !names.empty())
    plan.choices.problems.push_back(fmt::format("--no-build: the lock has only source for {}: {}",
                                                names.size(), util::join(names, ", ")));
  else if (plan.target.described && !names.empty())
    plan.choices.problems.push_back(
        fmt::format("--python-version {}: a target without an interpreter cannot build; the lock has only "
                    "source for {}: {}",
                    options.spec.python_version, names.size(), util::join(names, ", ")));
  build::GitCli git_cli;
  build::MemoGit git(git_cli);  // a ref verified below is not asked for again by its build
  if (plan.problems().empty()) verify_git_sources(plan, options, git, observer);
  std::optional<env::EnvLock> env_lock;
  NewEnvironment new_environment;  // after env_lock: destroyed while the lock is still held
  // A failed or interrupted install leaves no empty staging or journal directory behind either
  // (destroyed first, the lock still held; after record() it finds nothing to do).
  struct EmptyStateDirs {
    fs::path state_dir;
    ~EmptyStateDirs() {
      if (!state_dir.empty()) wheel::remove_empty_state_dirs(state_dir);
    }
  } empty_state_dirs;
  if (plan.problems().empty() && !options.dry_run) {
    if (!plan.target.exists) new_environment.before_lock(plan.target.root);
    env_lock.emplace(lock_environment(plan, options, observer, new_environment));
    empty_state_dirs.state_dir = plan.target.root / ".strata";
  }
  InstallReport report = planned_report(plan, options, observer);
  plan_builds(plan, options, observer, report);
  if (!report.problems.empty() || options.dry_run) {
    report = stopped(std::move(report), plan, started);
    if (stamp)
      report.json["stamp"] = {{"answered", false}, {"written", false}, {"path", stamp->path.string()}};
    return report;
  }
  value_or_throw(util::check_interrupted());
  Staged staged = fetch_and_prepare(plan, options, observer, git, report);
  check_conflicts(plan, staged);
  // The last point an interrupt stops at: a commit that began finishes (each wheel's is journaled,
  // and the rest of the commit is renames), so the environment ends as it was or complete.
  value_or_throw(util::check_interrupted());
  new_environment.keep(observer);
  nlohmann::json results = commit(plan, staged, observer, report);
  for (auto& removed : remove_unlocked(plan, options, observer, report))
    results.push_back(std::move(removed));
  record(plan);
  const bool stamped = stamp && stamp_install(*stamp, plan, options, planning.warnings);
  report = finished(std::move(report), std::move(results), staged, started);
  if (stamp)
    report.json["stamp"] = {{"answered", false}, {"written", stamped}, {"path", stamp->path.string()}};
  return report;
}

}  // namespace strata::plan
