// `strata fetch [LOCK]`: download the selection's wheels into the cache (or --dest) without
// installing — the step a CI job or a multi-stage build runs to warm a cache.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <system_error>

#include <fmt/format.h>

#include "cli/fetch_commands.hpp"
#include "cli/progress.hpp"
#include "env/cache_dir.hpp"
#include "fetch/curl_transport.hpp"
#include "fetch/fetch.hpp"
#include "fetch/url.hpp"
#include "plan/artifacts.hpp"
#include "plan/prepare.hpp"
#include "util/interrupt.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace strata::cli {
namespace fs = std::filesystem;

namespace {

fetch::FetchOptions fetch_options(const FetchCommandOptions& options, const fs::path& cache_root) {
  fetch::FetchOptions out;
  out.index_url = options.index_url;
  out.source_urls = value_or_throw(plan::parse_source_overrides(options.sources));
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

/// The front half's lines: warnings as warnings, phases only with -v (fetch has its own summary).
class PlanLines final : public plan::PlanObserver {
 public:
  explicit PlanLines(const Console& console) : console_(console) {}
  void on_phase(std::string_view line) override { console_.detail(line); }
  void on_warning(std::string_view line) override { console_.warn(line); }

 private:
  const Console& console_;
};

}  // namespace

namespace {

/// Why `url` is not an index URL ("" when it is one): http(s) with a host and a numeric port, or
/// file:.
std::string index_url_problem(const std::string& url) {
  auto parts = util::UrlParts::parse(url);
  bool blank = std::ranges::any_of(url, [](char c) { return util::is_space(c); });
  bool ok = parts && !blank && parts->scheme == "file";
  if (parts && !blank && (parts->scheme == "http" || parts->scheme == "https")) {
    std::string_view authority = parts->authority;
    std::size_t colon = authority.rfind(':');
    std::string_view port = colon == std::string_view::npos ? "" : authority.substr(colon + 1);
    bool ipv6_inside =
        colon != std::string_view::npos && authority.find(']', colon) != std::string_view::npos;
    ok = !authority.empty() && colon != 0 &&
         (ipv6_inside || std::ranges::all_of(port, [](char c) { return c >= '0' && c <= '9'; }));
  }
  if (ok) return {};
  return fmt::format(
      "not an index URL: \"{}\" (expected http(s)://host[:port]/path, e.g. https://pypi.org/simple)",
      util::redact_urls_in(url));
}

}  // namespace

CLI::Validator index_url_validator() {
  return CLI::Validator([](std::string& url) { return index_url_problem(url); }, "URL");
}

CLI::Option* add_index_url_option(CLI::App* cmd, std::string& index_url, const std::string& description) {
  return cmd->add_option("--index-url", index_url, description)
      ->envname("STRATA_INDEX_URL")
      ->check(index_url_validator());
}

CLI::Option* add_source_option(CLI::App* cmd, std::vector<std::string>& sources,
                               const std::string& description) {
  return cmd->add_option("--source", sources, description)
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            std::size_t eq = value.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == value.size())
              return fmt::format("expected NAME=URL, got \"{}\"", util::redact_urls_in(value));
            std::string problem = index_url_problem(value.substr(eq + 1));
            return problem.empty() ? problem : fmt::format("{}: {}", value.substr(0, eq), problem);
          },
          "NAME=URL"));
}

void add_target_flags(CLI::App* cmd, env::TargetSpec& spec) {
  cmd->add_option("--python-version", spec.python_version,
                  "Target Python X.Y[.Z] without an interpreter (X.Y means X.Y.0): markers, wheel tags and "
                  "scheme are computed, nothing is run; bytecode only with a host pythonX.Y (PATH, pyenv)");
  cmd->add_option("--platform", spec.platform,
                  "Target platform for --python-version: a wheel platform tag (manylinux_2_28_aarch64, "
                  "manylinux2014_x86_64, musllinux_1_2_x86_64, linux_x86_64, macosx_14_0_arm64) or an alias "
                  "(linux/amd64, linux/arm64, x86_64-unknown-linux-gnu: glibc 2.28; *-linux-musl: musl 1.2); "
                  "default: the host's");
  cmd->add_option("--implementation", spec.implementation,
                  "Target implementation for --python-version: cp "
                  "(default) or pp (PyPy 7.3)");
  cmd->add_option(
      "--abi", spec.abi,
      "Target CPython ABI for --python-version: cpXY (default), cpXYt (free-threaded, 3.13+), cpXYd");
}

CLI::App* add_fetch_command(CLI::App& app, FetchCommandOptions& options) {
  auto* cmd =
      app.add_subcommand("fetch", "Download the locked wheels for a target into the cache (or --dest)");
  cmd->add_option("lock", options.lock, "Lock file or a directory holding one (default: .)");
  cmd->add_option("--dest", options.dest, "Put the files in this directory instead of the cache");
  cmd->add_option("--python", options.python, "Target interpreter (default: the first python3 on PATH)");
  add_target_flags(cmd, options.spec);
  cmd->add_option("--only", options.only, "Only these groups")->delimiter(',');
  cmd->add_option("--with", options.with, "Also these optional groups")->delimiter(',');
  cmd->add_option("--without", options.without, "Leave out these groups")->delimiter(',');
  cmd->add_option("--extras", options.extras, "Extras to include")->delimiter(',');
  cmd->add_flag("--all-extras", options.all_extras, "Include every extra");
  cmd->add_option("--package", options.packages, "uv.lock workspace: these members")->delimiter(',');
  cmd->add_flag("--all-packages", options.all_packages, "uv.lock workspace: every member");
  add_index_url_option(cmd, options.index_url, "Replace the default index (PyPI; also STRATA_INDEX_URL)");
  add_source_option(cmd, options.sources, "Use URL for the lock's source NAME (NAME=URL)");
  cmd->add_option("--find-links", options.find_links, "Directory of local wheels to use first");
  cmd->add_flag("--offline", options.offline, "Use only the cache and --find-links");
  cmd->add_option("--cache-dir", options.cache_dir,
                  "Cache directory (default: STRATA_CACHE_DIR, XDG_CACHE_HOME/strata)");
  cmd->add_option("--jobs", options.jobs, "Parallel downloads")->default_val(8);
  cmd->add_option("--retries", options.retries, "Retries of a failed transfer")->default_val(4);
  cmd->add_option("--timeout", options.timeout,
                  "Seconds a stalled transfer (below 1 KiB/s) waits before it fails; also the fixed part of "
                  "each transfer's deadline (plus 1 s per 64 KiB)")
      ->default_val(30)
      ->envname("STRATA_HTTP_TIMEOUT");
  return cmd;
}

int run_fetch(const FetchCommandOptions& options, const Console& console) {
  auto started = std::chrono::steady_clock::now();
  const fs::path cache_root = value_or_throw(env::cache_root(options.cache_dir));
  fetch::FetchOptions fetch_opts = fetch_options(options, cache_root);

  // The planning front half, without an environment: fetch wants every chosen wheel.
  PlanLines plan_lines(console);
  plan::PlanRequest request;
  request.lock = options.lock;
  request.python = options.python;
  request.spec = options.spec;
  request.only = options.only;
  request.with = options.with;
  request.without = options.without;
  request.extras = options.extras;
  request.all_extras = options.all_extras;
  request.packages = options.packages;
  request.all_packages = options.all_packages;
  request.cache_dir = options.cache_dir;
  request.overlay = false;
  request.index = fetch_opts;
  const plan::Plan plan = plan::prepare(request, plan_lines);
  const env::Interpreter& interpreter = plan.target.interpreter;
  const plan::WheelChoices& choices = plan.choices;
  if (!choices.problems.empty()) {
    const auto& problems = choices.problems;
    throw CommandError(ErrorKind::check, problems.size() == 1
                                             ? problems.front()
                                             : fmt::format("{} packages cannot be fetched:\n  {}",
                                                           problems.size(), util::join(problems, "\n  ")));
  }
  std::vector<fetch::ArtifactRequest> requests;
  for (const auto& chosen : choices.chosen) requests.push_back(chosen.request);

  fetch::CurlGlobal curl;
  fetch::CurlOptions curl_options = value_or_throw(fetch::curl_options_from_env());
  curl_options.stall_timeout = std::chrono::seconds(options.timeout);
  curl_options.user_agent = std::string("strata/") + STRATA_VERSION;
  fetch::CurlTransport transport(curl, curl_options);
  fetch::CredentialResolver credentials(fetch::process_env());
  // Bars only for a person watching (Console::live).
  util::catch_interrupts();
  ConsoleProgress progress(console);
  auto result = fetch::fetch_all(requests, fetch_opts, transport, credentials, progress);
  progress.clear();
  if (util::interrupted()) {
    console.emit({{"ok", false},
                  {"interrupted", true},
                  {"error", {{"message", util::interrupt_message()}, {"exit_code", 130}}}});
    return console.interrupted("only complete, verified files were kept");
  }
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
                  {"lock", plan.files.lock.string()},
                  {"interpreter", plan.target.described ? std::string() : interpreter.executable.string()},
                  {"target", plan::to_json(plan.target)},
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
