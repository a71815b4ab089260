// `strata fetch [LOCK]`: download the selection's wheels into the cache (or --dest) without
// installing — the step a CI job or a multi-stage build runs to warm a cache.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <system_error>

#include <fmt/format.h>

#include "cli/fetch_commands.hpp"
#include "env/cache_dir.hpp"
#include "env/probe.hpp"
#include "fetch/curl_transport.hpp"
#include "fetch/fetch.hpp"
#include "fetch/url.hpp"
#include "lock/load.hpp"
#include "pep/tags.hpp"
#include "plan/wheel_choice.hpp"
#include "util/strings.hpp"

namespace strata::cli {
namespace fs = std::filesystem;

namespace {

// Reports fetch events on the console: details with -v, retries always (they explain a slow
// run), and a one-line live counter of files and bytes when stderr is a terminal.
class ConsoleProgress final : public fetch::ProgressObserver {
 public:
  ConsoleProgress(const Console& console, bool live) : console_(console), live_(live) {}
  ~ConsoleProgress() override { clear(); }
  ConsoleProgress(const ConsoleProgress&) = delete;
  ConsoleProgress& operator=(const ConsoleProgress&) = delete;

  void on_start(std::size_t files, std::uint64_t known_bytes) override {
    files_ = files;
    total_bytes_ = known_bytes;
    draw(true);
  }
  void on_bytes(std::int64_t delta) override {
    bytes_ = static_cast<std::uint64_t>(std::max<std::int64_t>(0, static_cast<std::int64_t>(bytes_) + delta));
    draw(false);
  }
  void on_done(const fetch::FetchedArtifact& artifact) override {
    if (artifact.origin == fetch::ArtifactOrigin::download) ++done_;
    draw(true);
  }
  void on_retry(std::string_view url, int attempt, std::chrono::milliseconds delay,
                std::string_view reason) override {
    clear();
    console_.info(fmt::format("retrying {} in {:.1f}s (attempt {} failed: {})", url,
                              static_cast<double>(delay.count()) / 1000.0, attempt, reason));
  }
  void on_detail(std::string_view message) override {
    clear();
    console_.detail(message);
  }
  /// Removes the live line (before other output and at the end).
  void clear() {
    if (!drawn_) return;
    std::fputs("\r\x1b[2K", stderr);
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  void draw(bool force) {
    if (!live_ || files_ == 0) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr double kMiB = 1024.0 * 1024.0;
    std::string total =
        total_bytes_ > 0 ? fmt::format("/{:.1f}", static_cast<double>(total_bytes_) / kMiB) : "";
    fmt::print(stderr, "\r\x1b[2KFetching {}/{} files, {:.1f}{} MiB", done_, files_,
               static_cast<double>(bytes_) / kMiB, total);
    std::fflush(stderr);
    drawn_ = true;
  }

  const Console& console_;
  bool live_ = false;
  bool drawn_ = false;
  std::size_t files_ = 0, done_ = 0;
  std::uint64_t bytes_ = 0, total_bytes_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

fetch::FetchOptions fetch_options(const FetchCommandOptions& options, const fs::path& cache_root) {
  fetch::FetchOptions out;
  out.index_url = options.index_url;
  for (const auto& source : options.sources) {
    auto eq = source.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == source.size())
      throw CommandError(ErrorKind::usage,
                         fmt::format("--source {}: expected NAME=URL", fetch::redact_url(source)));
    out.source_urls[source.substr(0, eq)] = source.substr(eq + 1);
  }
  for (const auto& dir : options.find_links) out.find_links.emplace_back(fs::absolute(dir));
  out.offline = options.offline;
  out.cache_dir = cache_root;
  if (!options.dest.empty()) out.dest_dir = fs::absolute(options.dest);
  if (options.jobs < 1) throw CommandError(ErrorKind::usage, "--jobs must be at least 1");
  if (options.retries < 0) throw CommandError(ErrorKind::usage, "--retries must not be negative");
  if (options.timeout < 1) throw CommandError(ErrorKind::usage, "--timeout must be at least 1 second");
  out.limits.parallelism = static_cast<std::size_t>(options.jobs);
  out.limits.retry.retries = options.retries;
  return out;
}

std::string source_name_for(const lock::Lock& lock, const lock::Package& package) {
  if (!package.source.name.empty()) return package.source.name;
  for (const auto& source : lock.sources)
    if (!source.url.empty() && source.url == package.source.url) return source.name;
  return {};
}

// The chosen wheel of every selected package, as fetch requests. Every package without a usable
// wheel is reported at once, before anything is downloaded.
std::vector<fetch::ArtifactRequest> requests_for(const lock::Lock& lock, const lock::Selection& selection,
                                                 const plan::TagRanking& ranking, const fs::path& lock_dir) {
  std::vector<fetch::ArtifactRequest> requests;
  std::vector<std::string> problems;
  std::vector<std::string> unsupported;
  for (const auto& package : selection.packages) {
    if (package.source.kind == lock::SourceKind::directory || package.source.kind == lock::SourceKind::vcs) {
      unsupported.push_back(
          fmt::format("{} ({})", package.display_name, lock::to_string(package.source.kind)));
      continue;
    }
    auto choice = plan::choose_wheel(package, ranking);
    if (!choice) {
      problems.push_back(choice.error().message);
      continue;
    }
    const lock::Artifact& artifact = package.artifacts[choice->artifact];
    fetch::ArtifactRequest request;
    request.package = fmt::format("{} {}", package.display_name, package.version_text);
    request.project = package.name;
    request.filename = artifact.filename;
    if (!artifact.url.empty())
      request.url = artifact.url;
    else if (!artifact.path.empty())
      request.url = (lock_dir / artifact.path).lexically_normal().string();
    if (package.source.kind == lock::SourceKind::index) {
      request.index_url = package.source.url;
      request.source_name = source_name_for(lock, package);
    }
    if (auto sha = artifact.hashes.find("sha256"); sha != artifact.hashes.end()) request.sha256 = sha->second;
    request.size = artifact.size;
    requests.push_back(std::move(request));
  }
  if (!unsupported.empty())
    problems.push_back(fmt::format("not supported (needs a build): {}", util::join(unsupported, ", ")));
  if (!problems.empty()) {
    std::string message = problems.size() == 1 ? problems.front()
                                               : fmt::format("{} packages cannot be fetched:\n  {}",
                                                             problems.size(), util::join(problems, "\n  "));
    throw CommandError(ErrorKind::check, message);
  }
  return requests;
}

}  // namespace

CLI::App* add_fetch_command(CLI::App& app, FetchCommandOptions& options) {
  auto* cmd =
      app.add_subcommand("fetch", "Download the locked wheels for a target into the cache (or --dest)");
  cmd->add_option("lock", options.lock, "Lock file or a directory holding one (default: .)");
  cmd->add_option("--dest", options.dest, "Put the files in this directory instead of the cache");
  cmd->add_option("--python", options.python, "Target interpreter (default: the first python3 on PATH)");
  cmd->add_option("--only", options.only, "Only these groups")->delimiter(',');
  cmd->add_option("--with", options.with, "Also these optional groups")->delimiter(',');
  cmd->add_option("--without", options.without, "Leave out these groups")->delimiter(',');
  cmd->add_option("--extras", options.extras, "Extras to include")->delimiter(',');
  cmd->add_flag("--all-extras", options.all_extras, "Include every extra");
  cmd->add_option("--index-url", options.index_url, "Replace the default index (PyPI)")
      ->envname("STRATA_INDEX_URL");
  cmd->add_option("--source", options.sources, "Use URL for the lock's source NAME (NAME=URL)");
  cmd->add_option("--find-links", options.find_links, "Directory of local wheels to use first");
  cmd->add_flag("--offline", options.offline, "Use only the cache and --find-links");
  cmd->add_option("--cache-dir", options.cache_dir,
                  "Cache directory (default: STRATA_CACHE_DIR, XDG_CACHE_HOME/strata)");
  cmd->add_option("--jobs", options.jobs, "Parallel downloads")->default_val(8);
  cmd->add_option("--retries", options.retries, "Retries of a failed transfer")->default_val(4);
  cmd->add_option("--timeout", options.timeout, "Seconds a stalled transfer waits before it fails")
      ->default_val(30);
  return cmd;
}

int run_fetch(const FetchCommandOptions& options, const Console& console) {
  auto started = std::chrono::steady_clock::now();
  const fs::path cache_root = value_or_throw(env::cache_root(options.cache_dir));
  fetch::FetchOptions fetch_opts = fetch_options(options, cache_root);

  const lock::LockFiles files = value_or_throw(lock::find_lock(options.lock));
  const lock::Lock lock = value_or_throw(lock::load_lock(options.lock));
  env::ProbeOptions probe_options;
  probe_options.cache_dir = env::interpreter_cache_dir(cache_root);
  const env::Interpreter interpreter = value_or_throw(env::probe_interpreter(options.python, probe_options));

  lock::SelectionRequest select_request;
  select_request.only = options.only;
  select_request.with = options.with;
  select_request.without = options.without;
  select_request.extras = options.extras;
  select_request.all_extras = options.all_extras;
  select_request.environment = interpreter.markers;
  select_request.python_full_version = interpreter.version;
  const lock::Selection selection = value_or_throw(lock::select(lock, select_request));
  const plan::TagRanking ranking(pep::supported_tags(interpreter.tag_env));
  const std::vector<fetch::ArtifactRequest> requests =
      requests_for(lock, selection, ranking, fs::absolute(files.lock).parent_path());

  fetch::CurlGlobal curl;
  fetch::CurlOptions curl_options;
  curl_options.stall_timeout = std::chrono::seconds(options.timeout);
  curl_options.user_agent = std::string("strata/") + STRATA_VERSION;
  fetch::CurlTransport transport(curl, curl_options);
  fetch::CredentialResolver credentials(fetch::process_env());
  // A live line only for a person watching: stderr is a terminal, and neither --quiet nor --json.
  ConsoleProgress progress(console, ::isatty(STDERR_FILENO) != 0 && !console.quiet() && !console.json());
  auto result = fetch::fetch_all(requests, fetch_opts, transport, credentials, progress);
  progress.clear();
  const std::vector<fetch::FetchedArtifact> fetched = value_or_throw(std::move(result));

  std::size_t downloaded = 0, local = 0;
  std::uint64_t downloaded_bytes = 0;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& artifact : fetched) {
    if (artifact.origin == fetch::ArtifactOrigin::download) {
      ++downloaded;
      downloaded_bytes += artifact.size;
    } else {
      ++local;
    }
    list.push_back({{"package", artifact.package},
                    {"filename", artifact.filename},
                    {"sha256", artifact.sha256},
                    {"size", artifact.size},
                    {"path", artifact.path.string()},
                    {"origin", fetch::to_string(artifact.origin)}});
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (console.json()) {
    console.emit({{"ok", true},
                  {"lock", files.lock.string()},
                  {"interpreter", interpreter.executable.string()},
                  {"cache_dir", cache_root.string()},
                  {"dest", fetch_opts.dest_dir ? fetch_opts.dest_dir->string() : std::string()},
                  {"files", std::move(list)},
                  {"summary",
                   {{"files", fetched.size()},
                    {"downloaded", downloaded},
                    {"local", local},
                    {"downloaded_bytes", downloaded_bytes},
                    {"seconds", seconds}}}});
  }
  for (const auto& artifact : fetched)
    console.detail(
        fmt::format("{} {} ({})", artifact.path.string(), artifact.size, fetch::to_string(artifact.origin)));
  console.info(
      fmt::format("Fetched {} files ({} downloaded, {:.1f} MiB; {} already local) in {:.2f}s into {}",
                  fetched.size(), downloaded, static_cast<double>(downloaded_bytes) / (1024.0 * 1024.0),
                  local, seconds, fetch_opts.dest_dir ? fetch_opts.dest_dir->string() : cache_root.string()));
  return 0;
}

}  // namespace strata::cli
