#include "plan/install.hpp"

#include <algorithm>
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

#include "env/cache_dir.hpp"
#include "env/env_lock.hpp"
#include "env/installed.hpp"
#include "env/ledger.hpp"
#include "env/probe.hpp"
#include "env/venv.hpp"
#include "fetch/curl_transport.hpp"
#include "fetch/fetch.hpp"
#include "lock/content_hash.hpp"
#include "lock/json.hpp"
#include "lock/load.hpp"
#include "lock/model.hpp"
#include "pep/tags.hpp"
#include "plan/artifacts.hpp"
#include "plan/decide.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "wheel/bytecode.hpp"
#include "wheel/install.hpp"
#include "wheel/unpack.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

/// The environment strata writes into, with everything needed to install there.
struct Target {
  env::Interpreter interpreter;
  fs::path root;  ///< owns `.strata/` (ledger, lock, staging): env dir, prefix, or scheme data dir
  wheel::SchemePaths scheme;
  std::vector<fs::path> site_dirs;  ///< what is visible, for the overlay check
  bool exists = true;               ///< false for a dry run against an environment not created yet
};

std::string env_or(const char* name, const std::string& fallback) {
  if (!fallback.empty()) return fallback;
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

bool inside(const fs::path& path, const fs::path& dir) {
  auto rel = path.lexically_normal().lexically_relative(dir.lexically_normal());
  return !rel.empty() && *rel.begin() != "..";
}

/// Replaces a leading `from` in `path` with `to` (pip's --prefix: the scheme re-rooted).
fs::path reroot(const fs::path& path, const fs::path& from, const fs::path& to) {
  auto rel = path.lexically_relative(from);
  if (rel.empty() || *rel.begin() == "..") return path;
  return to / rel;
}

/// Fills the scheme paths and the site dirs the overlay check reads (with --prefix, the re-rooted
/// library dirs come first).
Target with_scheme(Target target, bool prefix);

Target resolve_target(const InstallOptions& options, const env::ProbeOptions& probe) {
  if (!options.prefix.empty() && options.python.empty())
    throw CommandError(ErrorKind::usage,
                       "--prefix needs --python: the interpreter whose scheme is re-rooted");
  if (!options.prefix.empty() && !options.env.empty())
    throw CommandError(ErrorKind::usage, "--env and --prefix cannot be used together");

  Target target;
  if (!options.env.empty()) {
    fs::path dir = fs::absolute(options.env);
    if (!env::is_venv(dir)) {
      // Nothing is written yet: plan against the base interpreter, with nothing installed; the
      // venv is created once the plan has no problems (create_venv_target).
      target.interpreter =
          value_or_throw(env::probe_interpreter(options.python.empty() ? "python3" : options.python, probe));
      target.root = dir;
      target.exists = false;
      return target;
    }
    target.interpreter = value_or_throw(env::probe_interpreter((dir / "bin" / "python").string(), probe));
    target.root = dir;
  } else {
    target.interpreter =
        value_or_throw(env::probe_interpreter(options.python.empty() ? "python3" : options.python, probe));
    if (!options.prefix.empty()) {
      fs::path prefix = fs::absolute(options.prefix);
      for (auto& [key, value] : target.interpreter.paths) {
        fs::path p = value;
        fs::path moved = reroot(p, target.interpreter.exec_prefix, prefix);
        if (moved == p) moved = reroot(p, target.interpreter.prefix, prefix);
        value = moved.string();
      }
      target.root = prefix;
    } else {
      auto data = target.interpreter.paths.find("data");
      if (data == target.interpreter.paths.end())
        throw CommandError(ErrorKind::runtime, fmt::format("{}: the probe found no \"data\" scheme path",
                                                           target.interpreter.executable.string()));
      target.root = data->second;
    }
  }
  return with_scheme(std::move(target), !options.prefix.empty());
}

/// Creates the virtual environment of a target planned against its base interpreter.
Target create_venv_target(const Target& planned, const env::ProbeOptions& probe, InstallObserver& observer) {
  auto venv = value_or_throw(env::create_venv(planned.root, planned.interpreter));
  if (venv.created)  // not when another install made it while this one waited for the lock
    observer.on_phase(
        fmt::format("Created environment {} (Python {})", venv.dir.string(), planned.interpreter.version));
  Target target;
  target.interpreter = value_or_throw(env::probe_interpreter(venv.python.string(), probe));
  target.root = venv.dir;
  return with_scheme(std::move(target), false);
}

Target with_scheme(Target target, bool prefix) {
  target.scheme = value_or_throw(wheel::scheme_paths(target.interpreter));
  if (prefix) {
    target.site_dirs.push_back(target.scheme.purelib);
    if (target.scheme.platlib != target.scheme.purelib) target.site_dirs.push_back(target.scheme.platlib);
  }
  for (const auto& dir : target.interpreter.site_dirs) target.site_dirs.push_back(dir);
  return target;
}

lock::SelectionRequest selection_request(const InstallOptions& options, const env::Interpreter& interpreter) {
  lock::SelectionRequest request;
  request.only = options.only;
  request.with = options.with;
  request.without = options.without;
  request.extras = options.extras;
  request.all_extras = options.all_extras;
  request.environment = interpreter.markers;
  request.python_full_version = interpreter.version;
  return request;
}

fetch::FetchOptions fetch_options(const InstallOptions& options, const fs::path& cache_root) {
  fetch::FetchOptions fetch;
  fetch.index_url = env_or("STRATA_INDEX_URL", options.index_url);
  fetch.source_urls = value_or_throw(parse_source_overrides(options.sources));
  for (const auto& dir : options.find_links) fetch.find_links.emplace_back(fs::absolute(dir));
  fetch.offline = options.offline;
  fetch.cache_dir = cache_root;
  return fetch;
}

nlohmann::json target_json(const Target& target) {
  return {{"python", target.interpreter.executable.string()},
          {"version", target.interpreter.version},
          {"root", target.root.string()},
          {"purelib", target.scheme.purelib.string()},
          {"exists", target.exists}};
}

std::string summary_line(const InstallReport& report) {
  double seconds = static_cast<double>(report.elapsed.count()) / 1000.0;
  if (report.installed == 0 && report.replaced == 0)
    return fmt::format("Nothing to do: {} packages already installed ({:.2f}s)", report.kept, seconds);
  return fmt::format("Installed {} packages ({} replaced, {} kept) in {:.2f}s",
                     report.installed + report.replaced, report.replaced, report.kept, seconds);
}

/// Takes ownership of distributions strata installed at the locked version whose ledger entry a
/// killed run never wrote (the .dist-info is committed before the ledger is saved).
void adopt_orphans(const Decisions& decisions, const env::InstalledSet& installed, env::Ledger& ledger,
                   const std::string& owner, const std::map<std::string, const ChosenWheel*>& wheels) {
  for (const auto& d : decisions.decisions) {
    if (d.action != Action::keep || !d.installed_owner.empty() || d.installer != "strata") continue;
    const auto* dist = installed.find(d.name);
    if (!dist) continue;
    const auto* chosen = wheels.at(d.name);
    ledger.record_install({.name = d.name,
                           .version = dist->version,
                           .owner = owner,
                           .wheel = chosen->request.filename,
                           .sha256 = chosen->request.sha256,
                           .dist_info = dist->path.string(),
                           .installed_at = std::nullopt});
  }
}

/// Prepares wheels on worker threads as their files arrive, largest first; finish() waits for all
/// of them. Results are kept in the order of the decisions they belong to.
class PreparePool {
 public:
  using Prepare = std::function<Result<wheel::PreparedWheel>(const fetch::FetchedArtifact&, const Decision&)>;

  PreparePool(const std::vector<const Decision*>& todo, std::function<std::string(const Decision&)> sha256_of,
              Prepare prepare)
      : todo_(todo), prepare_(std::move(prepare)), results_(todo.size()) {
    for (std::size_t i = 0; i < todo.size(); ++i) index_of_[sha256_of(*todo[i])] = i;
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

  /// Waits until every wheel is prepared; the first failure, if any.
  Result<std::vector<wheel::PreparedWheel>> finish() {
    {
      std::unique_lock lock(mutex_);
      done_changed_.wait(lock, [&] { return finished_ == results_.size() || failed_; });
    }
    close();
    std::vector<wheel::PreparedWheel> out;
    for (auto& r : results_) {
      if (!r) return fail(ErrorKind::runtime, "internal error: a wheel was never prepared");
      if (!*r) return std::unexpected(r->error());
    }
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

/// Forwards fetch progress to the install observer and hands every verified file to the pool.
class PipelineObserver : public fetch::ProgressObserver {
 public:
  PipelineObserver(InstallObserver& inner, PreparePool& pool) : inner_(inner), pool_(pool) {}
  void on_start(std::size_t files, std::uint64_t bytes) override { inner_.on_start(files, bytes); }
  void on_bytes(std::int64_t delta) override { inner_.on_bytes(delta); }
  void on_done(const fetch::FetchedArtifact& artifact) override {
    inner_.on_done(artifact);
    pool_.add(artifact);
  }
  void on_retry(std::string_view url, int attempt, std::chrono::milliseconds delay,
                std::string_view reason) override {
    inner_.on_retry(url, attempt, delay, reason);
  }
  void on_detail(std::string_view message) override { inner_.on_detail(message); }

 private:
  InstallObserver& inner_;
  PreparePool& pool_;
};

}  // namespace

InstallReport run_install(const InstallOptions& options, InstallObserver& observer) {
  const auto started = Clock::now();
  InstallReport report;

  // Read the lock.
  if (!options.layer.empty())
    throw CommandError(ErrorKind::usage,
                       "install --layer: layer manifests come with `strata plan`, not in this build");
  const lock::LockFiles files = value_or_throw(lock::find_lock(options.lock));
  const lock::Lock lock = value_or_throw(lock::load_lock(files.lock));
  std::optional<bool> fresh;
  if (files.format == lock::Format::poetry) {
    std::string pyproject = value_or_throw(util::read_file(files.pyproject));
    fresh = value_or_throw(lock::content_hash_matches(lock, pyproject, files.pyproject.string()));
    if (!*fresh) {
      std::string message =
          fmt::format("{}: the lock is stale: its content-hash does not match {} (run `poetry lock`)",
                      files.lock.string(), files.pyproject.string());
      if (options.locked) throw CommandError(ErrorKind::check, message);
      observer.on_warning(message);
    }
  }

  // Probe the target.
  const fs::path cache_root = value_or_throw(env::cache_root(options.cache_dir));
  env::ProbeOptions probe;
  probe.cache_dir = env::interpreter_cache_dir(cache_root);
  Target target = resolve_target(options, probe);
  observer.on_phase(fmt::format("Target {} (Python {})", target.interpreter.executable.string(),
                                target.interpreter.version));

  // Select and choose wheels.
  auto selection = value_or_throw(lock::select(lock, selection_request(options, target.interpreter)));
  const TagRanking ranking(pep::supported_tags(target.interpreter.tag_env));
  auto choices = choose_wheels(lock, selection, ranking, fs::absolute(files.lock).parent_path());
  report.problems = std::move(choices.problems);

  // Check the overlay: what is installed, who owns it. A first look without the environment lock
  // decides whether anything is to be written at all; writers then take the lock (before a new
  // venv is made, so two installs into one new path do not both create it) and look again.
  const std::string owner = value_or_throw(env::lock_owner(files.lock));
  std::vector<SelectedPackage> selected;
  std::map<std::string, const ChosenWheel*> wheels;
  for (const auto& c : choices.chosen) {
    selected.push_back({c.package->name, c.package->version, c.request.filename, c.request.sha256});
    wheels[c.package->name] = &c;
  }
  struct Overlay {
    env::InstalledSet installed;
    env::Ledger ledger;
    Decisions decisions;
    std::vector<std::string> conflicts;
  };
  auto check_overlay = [&]() {
    Overlay o;
    if (target.exists) {
      o.installed = value_or_throw(env::scan_installed(target.site_dirs));
      o.ledger = value_or_throw(env::Ledger::load(target.root));
    }
    o.decisions = decide(
        selected, o.installed, o.ledger,
        {.owner = owner, .allow_replace = options.allow_replace, .markers = target.interpreter.markers});
    for (const auto& d : o.decisions.decisions)
      if (d.action == Action::conflict)
        o.conflicts.push_back(fmt::format("{} {}: {}", d.name, d.version.str(), d.reason));
    return o;
  };
  auto stop_early = [&](const Overlay& o) {
    report.problems.insert(report.problems.end(), o.conflicts.begin(), o.conflicts.end());
    return !report.problems.empty() || options.dry_run;
  };
  Overlay overlay = check_overlay();
  std::optional<env::EnvLock> env_lock;
  if (!stop_early(overlay)) {
    env_lock.emplace(value_or_throw(env::EnvLock::acquire(
        target.root,
        {.timeout = std::nullopt, .on_wait = [&](std::string_view line) { observer.on_phase(line); }})));
    if (!target.exists) target = create_venv_target(target, probe, observer);
    auto recovered = value_or_throw(wheel::recover(target.root / ".strata"));
    for (const auto& name : recovered.completed)
      observer.on_phase(fmt::format("Finished interrupted install of {}", name));
    for (const auto& name : recovered.rolled_back)
      observer.on_phase(fmt::format("Rolled back interrupted install of {}", name));
    overlay = check_overlay();  // what another writer did meanwhile counts
    stop_early(overlay);
  }
  const env::InstalledSet& installed = overlay.installed;
  env::Ledger& ledger = overlay.ledger;
  const Decisions& decisions = overlay.decisions;
  for (const auto& problem : installed.problems) observer.on_warning(problem);
  for (const auto& warning : decisions.warnings) observer.on_warning(warning);
  for (const auto& d : decisions.decisions)
    for (const auto& b : d.broken)
      observer.on_warning(fmt::format("replacing {} with {} breaks {} {} (requires {})", d.name,
                                      d.version.str(), b.name, b.version, b.requirement));
  report.kept = decisions.count(Action::keep);
  report.conflicts = decisions.count(Action::conflict);

  report.json = {{"lock", files.lock.string()},
                 {"format", lock.format == lock::Format::poetry ? "poetry" : "pylock"},
                 {"lock_version", lock.lock_version},
                 {"owner", owner},
                 {"target", target_json(target)},
                 {"selection", lock::to_json(selection)},
                 {"plan", to_json(decisions)},
                 {"dry_run", options.dry_run}};
  if (fresh) report.json["content_hash_fresh"] = *fresh;
  if (!report.problems.empty()) {
    report.exit_code = exit_code(ErrorKind::check);
    report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    report.json["ok"] = false;
    report.json["problems"] = report.problems;
    return report;
  }
  if (options.dry_run) {
    report.installed = decisions.count(Action::install);
    report.replaced = decisions.count(Action::replace);
    report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    report.summary = fmt::format("Would install {} packages ({} replaced, {} kept); nothing was changed",
                                 report.installed + report.replaced, report.replaced, report.kept);
    report.json["ok"] = true;
    report.json["summary"] = report.summary;
    return report;
  }

  // Fetch what must be installed; each wheel is prepared (unpacked, staged, compiled) as soon as
  // its file is verified, while the others download.
  std::vector<const Decision*> todo;
  for (const auto& d : decisions.decisions)
    if (d.action == Action::install || d.action == Action::replace) todo.push_back(&d);
  std::vector<fetch::FetchedArtifact> fetched;
  std::vector<wheel::PreparedWheel> prepared;
  const auto planned = Clock::now();
  auto fetched_at = planned, prepared_at = planned;
  if (!todo.empty()) {
    std::unique_ptr<wheel::Compiler> compiler;
    if (!options.no_compile)
      compiler = value_or_throw(
          wheel::Compiler::start(target.interpreter.executable,
                                 static_cast<unsigned>(std::min<std::size_t>(
                                     std::max(1u, std::thread::hardware_concurrency()), todo.size()))));
    const auto link_mode = value_or_throw(wheel::parse_link_mode(options.link_mode));
    auto prepare = [&](const fetch::FetchedArtifact& file,
                       const Decision& d) -> Result<wheel::PreparedWheel> {
      wheel::WheelInstallOptions wheel_options;
      wheel_options.compile = compiler != nullptr;
      wheel_options.compiler = compiler.get();
      wheel_options.link_mode = link_mode;
      auto unpacked =
          wheel::unpack_to_cache(file.path, file.sha256, cache_root / "unpacked", wheel_options.limits);
      if (!unpacked) return std::unexpected(unpacked.error());
      wheel_options.unpacked = std::move(*unpacked);
      wheel::InstallTarget install_target{.scheme = target.scheme,
                                          .python = target.interpreter.executable,
                                          .state_dir = target.root / ".strata",
                                          .replacing = std::nullopt};
      // A version outside the target's library directories (a base environment seen through
      // system site-packages) is shadowed, never modified, as pip does.
      if (d.action == Action::replace && (inside(d.installed_path, target.scheme.purelib) ||
                                          inside(d.installed_path, target.scheme.platlib)))
        install_target.replacing = d.installed_path;
      return wheel::prepare_wheel(file.path, install_target, std::move(wheel_options));
    };
    std::vector<fetch::ArtifactRequest> requests;
    for (const auto* d : todo) requests.push_back(wheels.at(d->name)->request);
    observer.on_phase(fmt::format("Installing {} packages", requests.size()));
    PreparePool pool(
        todo, [&](const Decision& d) { return wheels.at(d.name)->request.sha256; }, prepare);
    PipelineObserver pipeline(observer, pool);
    fetch::CurlGlobal curl;
    fetch::CurlTransport transport(curl, {.ca_file = fetch::ca_file_from_env()});
    fetch::CredentialResolver credentials(fetch::process_env());
    fetched = value_or_throw(
        fetch::fetch_all(requests, fetch_options(options, cache_root), transport, credentials, pipeline));
    for (const auto& f : fetched) {
      report.downloaded += f.origin == fetch::ArtifactOrigin::download ? 1 : 0;
      pool.add(f);  // in case the fetch layer reported it done without the event
    }
    fetched_at = Clock::now();
    prepared = value_or_throw(pool.finish());
    prepared_at = Clock::now();
  }

  // Commit each prepared wheel atomically; the ledger records what was committed.
  adopt_orphans(decisions, installed, ledger, owner, wheels);
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t i = 0; i < todo.size(); ++i) {
    const Decision& d = *todo[i];
    auto done = wheel::commit_wheel(std::move(prepared[i]));
    if (!done) {
      // What is committed so far stays installed and recorded; the failed package is absent.
      (void)ledger.save(target.root);
      throw CommandError(done.error());
    }
    ledger.record_install({.name = d.name,
                           .version = done->version,
                           .owner = owner,
                           .wheel = fetched[i].filename,
                           .sha256 = fetched[i].sha256,
                           .dist_info = done->dist_info.string(),
                           .installed_at = std::nullopt});
    (d.action == Action::replace ? report.replaced : report.installed) += 1;
    results.push_back({{"name", d.name},
                       {"version", done->version},
                       {"action", to_string(d.action)},
                       {"wheel", fetched[i].filename},
                       {"origin", fetch::to_string(fetched[i].origin)},
                       {"files", done->files.size()},
                       {"compiled", done->compiled}});
    observer.on_installed(d.name, i + 1, todo.size());
  }
  value_or_throw(ledger.save(target.root));

  report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  report.summary = summary_line(report);
  report.json["ok"] = true;
  report.json["results"] = std::move(results);
  report.json["summary"] = report.summary;
  auto ms = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  // Preparing overlaps fetching: "prepare_ms" is only what was left after the last file arrived.
  report.json["timings"] = {{"plan_ms", ms(planned - started)},
                            {"fetch_ms", ms(fetched_at - planned)},
                            {"prepare_ms", ms(prepared_at - fetched_at)},
                            {"commit_ms", ms(Clock::now() - prepared_at)},
                            {"total_ms", report.elapsed.count()}};
  return report;
}

}  // namespace strata::plan
