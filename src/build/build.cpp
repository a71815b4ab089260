// Builder: built-wheel cache → build environment → hooks → verification → cache insert.
//
// Cache layout under <cache>/builds/:
//   wheels/<key[0:2]>/<key>/{<wheel>, meta.json}  built wheels; a directory renamed into place whole
//   editable/<key>/<wheel>                          the last editable (PEP 660) wheel of a tree
//   envs/<env-key>/                                 build venvs, complete when .strata-complete exists
//   locks/<key>/.strata/lock                        one build (or env creation) per key at a time
//   work/<key>/{src/<name>-<version>,out,home,tmp} the build's fixed-name working copy
//   logs/<name>-<version>-<key[0:12]>.log           full build logs (unless --log-dir)
// <key> hashes the source key, the target's best tag and interpreter, the isolation mode, the
// declared build requirements and the build constraints file: everything that decides which
// build requirements get used, so that a second build needs no network and runs nothing.

#include "build/build.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "build/hooks.hpp"
#include "build/requirements.hpp"
#include "build/source.hpp"
#include "env/env_lock.hpp"
#include "env/installed.hpp"
#include "env/venv.hpp"
#include "fetch/cache.hpp"
#include "fetch/hash.hpp"
#include "fetch/simple_api.hpp"
#include "fetch/transfer.hpp"
#include "fetch/url.hpp"
#include "pep/name.hpp"
#include "pep/requirement.hpp"
#include "pep/tags.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "wheel/archive.hpp"
#include "wheel/install.hpp"

namespace strata::build {

namespace fs = std::filesystem;
using detail::Pin;

namespace {

std::string sha256_text(std::string_view text) {
  fetch::Sha256 h;
  h.update(text);
  return h.hex_digest();
}

// The METADATA text of a wheel archive (its single top-level *.dist-info/METADATA).
Result<std::string> wheel_metadata(const fs::path& wheel) {
  auto reader = wheel::ArchiveReader::open(wheel, {});
  if (!reader) return std::unexpected(reader.error());
  while (true) {
    auto entry = reader->next();
    if (!entry) return std::unexpected(entry.error());
    if (!*entry) break;
    const std::string& path = (*entry)->path;
    auto slash = path.find('/');
    if ((*entry)->directory || slash == std::string::npos || path.find('/', slash + 1) != std::string::npos)
      continue;
    if (!path.substr(0, slash).ends_with(".dist-info") || path.substr(slash + 1) != "METADATA") continue;
    std::string text;
    auto read = reader->read([&](std::string_view chunk) -> Result<void> {
      text.append(chunk);
      return {};
    });
    if (!read) return std::unexpected(read.error());
    return text;
  }
  return fail(ErrorKind::runtime, fmt::format("{}: no .dist-info/METADATA", wheel.filename().string()));
}

// Receives fetch events for build requirements: details only (the caller's progress bar is for
// the locked files).
class DetailForwarder final : public fetch::ProgressObserver {
 public:
  explicit DetailForwarder(BuildObserver& observer) : observer_(observer) {}
  void on_detail(std::string_view message) override { observer_.on_detail(message); }

 private:
  BuildObserver& observer_;
};

constexpr std::size_t kMaxBody = 64u << 20;

struct MemorySink final : fetch::ResponseSink {
  std::string body;
  bool write(std::string_view data) override {
    if (body.size() + data.size() > kMaxBody) return false;
    body.append(data);
    return true;
  }
};

}  // namespace

namespace detail {

// Build requirements from the index, find-links directories and the artifact cache, through
// strata's fetch layer. Not thread-safe: BuilderState serializes calls.
class NetworkIndex final : public PackageIndex {
 public:
  NetworkIndex(const BuildOptions& options, fetch::HttpTransport& transport,
               fetch::CredentialResolver& credentials)
      : options_(options), transport_(transport), credentials_(credentials) {}

  void set_observer(fetch::ProgressObserver* observer) { observer_ = observer; }

  std::string index_url() const {
    return options_.fetch.index_url.empty() ? std::string(fetch::kPypiSimple) : options_.fetch.index_url;
  }

  Result<std::vector<fetch::IndexFile>> files(std::string_view project) override {
    std::string name(project);
    if (auto it = files_.find(name); it != files_.end()) return it->second;
    std::vector<fetch::IndexFile> out;
    for (const auto& dir : options_.fetch.find_links) {
      std::error_code ec;
      for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
           it.increment(ec)) {
        std::string filename = it->path().filename().string();
        if (!filename.ends_with(".whl")) continue;
        auto parsed = pep::WheelFilename::parse(filename);
        if (!parsed || parsed->name != name) continue;
        auto digest = fetch::sha256_file(it->path());
        if (!digest) continue;
        fetch::IndexFile file;
        file.filename = filename;
        file.url = "file://" + fs::absolute(it->path()).string();
        file.hashes["sha256"] = *digest;
        out.push_back(std::move(file));
      }
    }
    if (!options_.fetch.offline) {
      std::string page_url = fetch::project_page_url(index_url(), name);
      auto creds = credentials_.for_source("pypi", index_url());
      if (!creds) return std::unexpected(creds.error());
      auto got = get(page_url, {fmt::format("Accept: {}", fetch::kSimpleAccept)}, *creds, true);
      if (!got) return std::unexpected(got.error());
      if (got->status != 404) {
        auto page = fetch::parse_project_page(got->body, got->content_type, got->base);
        if (!page)
          return fail(ErrorKind::runtime,
                      fmt::format("{}: {}", fetch::redact_url(page_url), page.error().message));
        for (auto& file : page->files) out.push_back(std::move(file));
      }
    }
    files_[name] = out;
    return out;
  }

  Result<std::string> metadata(const fetch::IndexFile& file, const std::string& sha256) override {
    if (auto it = metadata_.find(sha256); it != metadata_.end()) return it->second;
    Result<std::string> text = fail(ErrorKind::runtime, "");
    if (file.has_metadata && !file.url.starts_with("file://")) {
      auto creds = credentials_.for_file(file.url, "pypi", index_url());
      if (!creds) return std::unexpected(creds.error());
      auto got = get(file.url + ".metadata", {}, *creds, true);
      if (got && got->status == 200) text = got->body;
    }
    if (!text) {
      auto path = fetch_wheels({Pin{pep::normalize_name(file.filename.substr(0, file.filename.find('-'))),
                                    pep::Version::from_parts(0, {0}), file, sha256}});
      if (!path) return std::unexpected(path.error());
      text = wheel_metadata(path->front());
    }
    if (!text) return std::unexpected(text.error());
    metadata_[sha256] = *text;
    return text;
  }

  // The chosen wheels as verified files (find-links or the artifact cache).
  Result<std::vector<fs::path>> fetch_wheels(const std::vector<Pin>& pins) {
    std::vector<fetch::ArtifactRequest> requests;
    for (const auto& pin : pins) {
      fetch::ArtifactRequest r;
      r.package = fmt::format("build requirement {}", pin.file.filename);
      r.project = pin.name;
      r.filename = pin.file.filename;
      r.url = pin.file.url;
      r.index_url = index_url();
      r.sha256 = pin.sha256;
      r.size = pin.file.size;
      requests.push_back(std::move(r));
    }
    fetch::FetchOptions fetch_options = options_.fetch;
    fetch_options.dest_dir.reset();
    if (fetch_options.cache_dir.empty()) fetch_options.cache_dir = options_.cache_root;
    fetch::ProgressObserver none;
    auto fetched =
        fetch::fetch_all(requests, fetch_options, transport_, credentials_, observer_ ? *observer_ : none);
    if (!fetched) return std::unexpected(fetched.error());
    std::vector<fs::path> out;
    for (const auto& f : *fetched) out.push_back(f.path);
    return out;
  }

 private:
  struct Got {
    int status = 0;
    std::string body, content_type, base;
  };

  Result<Got> get(const std::string& url, std::vector<std::string> headers,
                  const std::optional<fetch::Credentials>& creds, bool allow_404) {
    MemorySink sink;
    fetch::TransferJob job;
    job.request.url = fetch::strip_userinfo(url);
    job.request.headers = std::move(headers);
    job.request.accept_compressed = true;
    if (creds) {
      job.request.username = creds->username;
      job.request.password = creds->password;
    }
    job.display_url = fetch::redact_url(url);
    job.begin = [&sink]() -> Result<fetch::ResponseSink*> {
      sink.body.clear();
      return &sink;
    };
    job.finish = [](const fetch::HttpResponse&) { return fetch::Verdict{}; };
    std::vector<fetch::TransferJob> jobs{std::move(job)};
    fetch::ProgressObserver none;
    fetch::run_transfers(jobs, transport_, options_.fetch.limits, observer_ ? *observer_ : none);
    const auto& done = jobs.front();
    if (!done.succeeded) {
      if (allow_404 && done.last_response.http_status == 404) return Got{404, {}, {}, {}};
      return std::unexpected(
          done.error.value_or(Error{ErrorKind::runtime, fmt::format("{}: failed", done.display_url)}));
    }
    return Got{done.last_response.http_status, std::move(sink.body), done.last_response.content_type,
               done.last_response.effective_url.empty() ? url : done.last_response.effective_url};
  }

  const BuildOptions& options_;
  fetch::HttpTransport& transport_;
  fetch::CredentialResolver& credentials_;
  fetch::ProgressObserver* observer_ = nullptr;
  std::map<std::string, std::vector<fetch::IndexFile>> files_;
  std::map<std::string, std::string> metadata_;
};

struct BuilderState {
  BuilderState(BuildOptions o, fetch::HttpTransport& t, fetch::CredentialResolver& c)
      : options(std::move(o)), index(options, t, c) {}
  BuildOptions options;
  std::mutex network;  // guards index (transport, credentials, memo) and constraints
  NetworkIndex index;
  std::optional<std::vector<BuildConstraint>> constraints;
  std::string constraints_sha256;
};

}  // namespace detail

namespace {

struct Paths {
  fs::path root, wheels, editable, envs, locks, work, logs;
  explicit Paths(const BuildOptions& options)
      : root(options.cache_root / "builds"),
        wheels(root / "wheels"),
        editable(root / "editable"),
        envs(root / "envs"),
        locks(root / "locks"),
        work(root / "work"),
        logs(options.log_dir.empty() ? root / "logs" : options.log_dir) {}
};

std::string best_tag(const env::Interpreter& interpreter) {
  auto tags = pep::supported_tags(interpreter.tag_env);
  return tags.empty() ? std::string("none") : tags.front().str();
}

// A cached built wheel, if its entry is whole; a broken entry is removed.
std::optional<BuiltWheel> cache_lookup(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  auto discard = [&]() -> std::optional<BuiltWheel> {
    // Renamed aside first, so a reader never sees half a removed entry.
    auto trash = make_temp_dir(dir.parent_path());
    if (trash && ::rename(dir.c_str(), trash->c_str()) == 0) fs::remove_all(*trash, ec);
    return std::nullopt;
  };
  auto text = util::read_file(dir / "meta.json");
  if (!text) return discard();
  auto meta = nlohmann::json::parse(*text, nullptr, false);
  if (meta.is_discarded() || !meta.is_object() || !meta.contains("filename") || !meta.contains("sha256"))
    return discard();
  BuiltWheel out;
  out.filename = meta.value("filename", std::string());
  out.sha256 = meta.value("sha256", std::string());
  out.backend = meta.value("backend", std::string());
  out.build_requirements = meta.value("build_requirements", std::vector<std::string>{});
  out.wheel = dir / out.filename;
  out.cached = true;
  auto digest = fetch::sha256_file(out.wheel);
  if (!digest || *digest != out.sha256) return discard();
  return out;
}

std::vector<std::string> tail_lines(const fs::path& log, std::size_t count) {
  auto text = util::read_file(log);
  if (!text) return {};
  std::vector<std::string> lines;
  for (auto line : util::split(*text, '\n'))
    if (!util::trim(line).empty()) lines.emplace_back(line);
  if (lines.size() > count) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(count));
  return lines;
}

// One line for a build that failed for want of a compiler or the interpreter's headers.
std::string missing_tool_hint(const fs::path& log, const BuildSource& source,
                              const env::Interpreter& interpreter) {
  auto text = util::read_file(log);
  if (!text) return {};
  const std::string& t = *text;
  std::string who = fmt::format("{} {}", source.name, source.version);
  if (t.find("Python.h: No such file or directory") != std::string::npos)
    return fmt::format(
        "{} needs the C headers of Python {} (Python.h) to build: on Debian, apt-get install "
        "build-essential python3-dev",
        who, interpreter.version);
  for (std::string_view sign :
       {"gcc' failed: No such file or directory", "cc' failed: No such file or directory",
        "unable to execute 'gcc'", "unable to execute 'cc'", "gcc: not found", "gcc: command not found",
        "No such file or directory: 'gcc'", "'cc': No such file"}) {
    if (t.find(sign) != std::string::npos)
      return fmt::format(
          "{} needs a C compiler (gcc) to build: on Debian, apt-get install build-essential python3-dev",
          who);
  }
  return {};
}

// The environment a build runs in: nothing from the host but PATH and compiler settings.
std::vector<std::string> build_environment(const fs::path& bin, const fs::path& work, std::int64_t epoch,
                                           const fs::path& venv, const fs::path& extra_site,
                                           const fs::path& builds_root) {
  std::vector<std::string> env;
  const char* host_path = std::getenv("PATH");
  std::string path = host_path && *host_path ? host_path : "/usr/local/bin:/usr/bin:/bin";
  env.push_back(fmt::format("PATH={}", bin.empty() ? path : bin.string() + ":" + path));
  env.push_back(fmt::format("HOME={}", (work / "home").string()));
  env.push_back(fmt::format("TMPDIR={}", (work / "tmp").string()));
  env.push_back("TZ=UTC");
  env.push_back("LC_ALL=C.UTF-8");
  env.push_back("LANG=C.UTF-8");
  env.push_back(fmt::format("SOURCE_DATE_EPOCH={}", epoch));
  env.push_back("PYTHONNOUSERSITE=1");
  env.push_back("PYTHONHASHSEED=0");
  env.push_back("PYTHONIOENCODING=utf-8");
  if (!venv.empty()) env.push_back(fmt::format("VIRTUAL_ENV={}", venv.string()));
  if (!extra_site.empty()) env.push_back(fmt::format("PYTHONPATH={}", extra_site.string()));
  // Deliberate build configuration, not noise: the compiler and where libraries are.
  for (const char* name : {"CC", "CXX", "CPPFLAGS", "LDFLAGS", "LDSHARED", "AR", "PKG_CONFIG_PATH",
                           "CARGO_HOME", "RUSTUP_HOME", "CUDA_HOME", "MAX_JOBS"}) {
    if (const char* value = std::getenv(name)) env.push_back(fmt::format("{}={}", name, value));
  }
  // Compiled code names its sources by where they were built (debug info, __FILE__): the cache's
  // builds directory is written as /strata-builds, so that a wheel does not depend on where the
  // cache is (gcc 8 and clang 10 know the flag). Appended: the user's own flags come first.
  const std::string prefix_map = fmt::format("-ffile-prefix-map={}=/strata-builds", builds_root.string());
  for (const char* name : {"CFLAGS", "CXXFLAGS"}) {
    const char* value = std::getenv(name);
    env.push_back(value && *value ? fmt::format("{}={} {}", name, value, prefix_map)
                                  : fmt::format("{}={}", name, prefix_map));
  }
  return env;
}

Result<void> copy_tree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directories(to.parent_path(), ec);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec)
    return fail(ErrorKind::runtime, fmt::format("cannot copy the source tree {} to {}: {}", from.string(),
                                                to.string(), ec.message()));
  return {};
}

}  // namespace

Builder::Builder(BuildOptions options, fetch::HttpTransport& transport,
                 fetch::CredentialResolver& credentials)
    : state_(std::make_unique<detail::BuilderState>(std::move(options), transport, credentials)) {}

Builder::~Builder() = default;

const BuildOptions& Builder::options() const { return state_->options; }

namespace {

// Everything one build needs, so the steps below read as a list.
class OneBuild {
 public:
  OneBuild(detail::BuilderState& state, const BuildSource& source, BuildObserver& observer)
      : state_(state), options_(state.options), source_(source), observer_(observer), paths_(options_) {}

  Result<BuiltWheel> run();

 private:
  Result<void> load_constraints();
  std::string cache_key(const detail::BuildSystem& system) const;
  Result<std::vector<Pin>> choose(const std::vector<detail::Wanted>& wanted);
  Result<fs::path> ensure_env(const std::vector<Pin>& pins);
  Result<nlohmann::json> hook(const std::string& name, const fs::path& python, const fs::path& venv);
  Error build_failure(const std::string& hook, const detail::HookResult& result) const;
  Result<void> verify(const fs::path& wheel) const;
  Result<BuiltWheel> finish_editable(const fs::path& wheel, const std::string& key, BuiltWheel built,
                                     std::chrono::steady_clock::time_point start);
  std::string subject() const {
    return source_.version.empty() ? source_.name : fmt::format("{} {}", source_.name, source_.version);
  }
  std::chrono::milliseconds remaining() const {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    return std::max(left, std::chrono::milliseconds(1));
  }

  detail::BuilderState& state_;
  const BuildOptions& options_;
  const BuildSource& source_;
  BuildObserver& observer_;
  Paths paths_;
  detail::BuildSystem system_;
  fs::path work_, tree_, log_;
  std::chrono::steady_clock::time_point deadline_;
};

Result<void> OneBuild::load_constraints() {
  if (!options_.build_constraints) return {};
  std::lock_guard lock(state_.network);
  if (state_.constraints) return {};
  auto text = util::read_file(*options_.build_constraints);
  if (!text) return fail(ErrorKind::usage, fmt::format("--build-constraints: {}", text.error().message));
  auto parsed = parse_build_constraints(*text, options_.build_constraints->string());
  if (!parsed) return std::unexpected(parsed.error());
  state_.constraints = std::move(*parsed);
  state_.constraints_sha256 = sha256_text(*text);
  return {};
}

std::string OneBuild::cache_key(const detail::BuildSystem& system) const {
  std::vector<std::string> requires_ = system.requires_;
  std::sort(requires_.begin(), requires_.end());
  const env::Interpreter& py = options_.interpreter;
  std::string material = fmt::format(
      "strata-build-1\nsource {}\nname {}\nversion {}\ntag {}\npython {} {}\nisolation {}\nrequires "
      "{}\nbackend "
      "{}\nconstraints {}\n{}",
      source_.source_key, source_.name, source_.version, best_tag(py), py.implementation, py.version,
      options_.isolation ? std::string("yes")
                         : "no " + py.executable.string() + " " + options_.target_site.string(),
      util::join(requires_, ";"), system.backend, state_.constraints_sha256,
      source_.editable ? "editable " + source_.tree.string() + "\n" : std::string());
  // Only when there are some, so that the keys of builds without them stay as they were.
  if (!options_.lock_constraints.empty()) {
    std::vector<std::string> limits;
    for (const auto& c : options_.lock_constraints) limits.push_back(c.text);
    std::sort(limits.begin(), limits.end());
    material += fmt::format("lock-constraints {}\n", util::join(limits, ";"));
  }
  return sha256_text(material);
}

Result<std::vector<Pin>> OneBuild::choose(const std::vector<detail::Wanted>& wanted) {
  std::lock_guard lock(state_.network);
  DetailForwarder forward(observer_);
  state_.index.set_observer(&forward);
  auto pins = detail::choose_requirements(wanted, options_.interpreter,
                                          state_.constraints ? &*state_.constraints : nullptr, state_.index,
                                          options_.lock_constraints);
  state_.index.set_observer(nullptr);
  if (!pins) return fail(pins.error().kind, fmt::format("{}: {}", subject(), pins.error().message));
  return pins;
}

// A build venv holding exactly `pins`, made once per requirement set and reused.
Result<fs::path> OneBuild::ensure_env(const std::vector<Pin>& pins) {
  std::vector<std::string> lines;
  for (const auto& pin : pins) lines.push_back(fmt::format("{} {}", pin.file.filename, pin.sha256));
  const env::Interpreter& py = options_.interpreter;
  std::string key = sha256_text(fmt::format("strata-build-env-1\n{}\n{}\n{}\n", py.real_executable.string(),
                                            py.version, util::join(lines, "\n")))
                        .substr(0, 32);
  fs::path dir = paths_.envs / key;
  fs::path complete = dir / ".strata-complete";
  std::error_code ec;
  if (fs::exists(complete, ec)) {
    observer_.on_detail(fmt::format("{}: reusing build environment {}", subject(), dir.string()));
    return dir;
  }
  auto held = env::EnvLock::acquire(paths_.locks / ("env-" + key), {});
  if (!held) return std::unexpected(held.error());
  if (fs::exists(complete, ec)) return dir;
  fs::remove_all(dir, ec);
  auto venv = env::create_venv(dir, py);
  if (!venv) return std::unexpected(venv.error());
  Result<std::vector<fs::path>> wheels = std::vector<fs::path>{};
  {
    std::lock_guard lock(state_.network);
    DetailForwarder forward(observer_);
    state_.index.set_observer(&forward);
    wheels = state_.index.fetch_wheels(pins);
    state_.index.set_observer(nullptr);
  }
  if (!wheels)
    return fail(wheels.error().kind,
                fmt::format("{}: build requirements: {}", subject(), wheels.error().message));
  fs::path site = dir / "lib" / fmt::format("python{}.{}", py.major, py.minor) / "site-packages";
  if (py.implementation == "pypy" && !fs::exists(site, ec)) site = dir / "lib" / "pypy3" / "site-packages";
  wheel::InstallTarget target;
  target.scheme = {site, site, dir / "bin", dir,
                   dir / "include" / "site" / fmt::format("python{}.{}", py.major, py.minor)};
  target.python = venv->python;
  target.state_dir = dir / ".strata";
  wheel::WheelInstallOptions install;
  install.compile = false;
  install.requested = false;
  for (const auto& file : *wheels) {
    auto installed = wheel::install_wheel(file, target, install);
    if (!installed)
      return fail(installed.error().kind, fmt::format("{}: installing build requirement {}: {}", subject(),
                                                      file.filename().string(), installed.error().message));
  }
  if (auto ok = util::write_file_atomic(complete, util::join(lines, "\n") + "\n"); !ok)
    return std::unexpected(ok.error());
  observer_.on_detail(
      fmt::format("{}: made build environment {} ({} wheels)", subject(), dir.string(), pins.size()));
  return dir;
}

Error OneBuild::build_failure(const std::string& hook, const detail::HookResult& result) const {
  std::string why = result.timed_out ? fmt::format("timed out after {} s", options_.timeout.count())
                                     : (result.error.empty() ? fmt::format("exit status {}", result.exit_code)
                                                             : result.error);
  std::string message =
      fmt::format("{}: build failed (backend {}, hook {}): {}", subject(), system_.backend, hook, why);
  if (auto hint = missing_tool_hint(log_, source_, options_.interpreter); !hint.empty())
    message += "\n" + hint;
  auto lines = tail_lines(log_, 20);
  if (!lines.empty()) {
    message += "\nlast lines of its output:";
    for (const auto& line : lines) message += "\n  " + line;
  }
  message += fmt::format("\nfull log: {}", log_.string());
  return Error{ErrorKind::runtime, message};
}

Result<nlohmann::json> OneBuild::hook(const std::string& name, const fs::path& python, const fs::path& venv) {
  detail::HookCall call;
  call.python = python;
  call.hook = name;
  call.system = &system_;
  call.tree = tree_;
  call.wheel_directory = work_ / "out";
  // Without isolation the target's own bin/ (its cython, cmake) comes first on PATH.
  call.env = build_environment(venv.empty() ? python.parent_path() : venv / "bin", work_,
                               source_.source_date_epoch.value_or(kDefaultSourceDateEpoch), venv,
                               options_.isolation ? fs::path() : options_.target_site, paths_.root);
  call.scratch = work_;
  call.log = log_;
  call.timeout = remaining();
  observer_.on_detail(fmt::format("{}: running {} ({})", subject(), name, system_.backend));
  auto result = detail::run_hook(call);
  if (!result) return std::unexpected(result.error());
  if (!result->ok) return std::unexpected(build_failure(name, *result));
  return result->value;
}

Result<void> OneBuild::verify(const fs::path& wheel) const {
  std::string filename = wheel.filename().string();
  auto parsed = pep::WheelFilename::parse(filename);
  if (!parsed)
    return fail(ErrorKind::runtime, fmt::format("{}: the build made {}, not a wheel", subject(), filename));
  auto same_version = [&](const std::string& text) {
    if (source_.version.empty()) return true;
    auto a = pep::Version::parse(text);
    auto b = pep::Version::parse(source_.version);
    return a && b ? *a == *b : text == source_.version;
  };
  if (parsed->name != source_.name || !same_version(parsed->version.str()))
    return fail(ErrorKind::runtime, fmt::format("{}: the build made {}, which is not the locked {} {}",
                                                subject(), filename, source_.name, source_.version));
  auto metadata = wheel_metadata(wheel);
  if (!metadata)
    return fail(ErrorKind::runtime, fmt::format("{}: built wheel: {}", subject(), metadata.error().message));
  auto headers = env::MetadataHeaders::parse(*metadata);
  const std::string* name = headers.get("Name");
  const std::string* version = headers.get("Version");
  if (!name || !version || pep::normalize_name(*name) != source_.name || !same_version(*version))
    return fail(ErrorKind::runtime,
                fmt::format("{}: the built wheel's METADATA says {} {}, not the locked {} {}", subject(),
                            name ? *name : "(no Name)", version ? *version : "(no Version)", source_.name,
                            source_.version));
  return {};
}

// An editable wheel replaces the tree's previous one under builds/editable/<key>/ (the build's
// lock is held); never in the built-wheel cache.
Result<BuiltWheel> OneBuild::finish_editable(const fs::path& wheel, const std::string& key, BuiltWheel built,
                                             std::chrono::steady_clock::time_point start) {
  std::error_code ec;
  const fs::path dir = paths_.editable / key;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  built.wheel = dir / built.filename;
  fs::rename(wheel, built.wheel, ec);
  if (ec) fs::copy_file(wheel, built.wheel, fs::copy_options::overwrite_existing, ec);
  if (ec)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot keep the editable wheel in {}: {}", subject(),
                                                dir.string(), ec.message()));
  fs::remove_all(work_, ec);
  built.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return built;
}

Result<BuiltWheel> OneBuild::run() {
  auto start = std::chrono::steady_clock::now();
  deadline_ = start + options_.timeout;
  auto system = detail::read_build_system(source_.tree);
  if (!system) return fail(system.error().kind, fmt::format("{}: {}", subject(), system.error().message));
  system_ = std::move(*system);
  if (auto ok = load_constraints(); !ok) return std::unexpected(ok.error());
  std::string key = cache_key(system_);
  const bool editable = source_.editable;
  fs::path entry = paths_.wheels / key.substr(0, 2) / key;
  if (auto hit = editable ? std::nullopt : cache_lookup(entry)) {
    observer_.on_detail(fmt::format("{}: built wheel {} from the cache", subject(), hit->filename));
    return *hit;
  }
  auto held = env::EnvLock::acquire(paths_.locks / key, {});
  if (!held) return std::unexpected(held.error());
  if (auto hit = editable ? std::nullopt : cache_lookup(entry)) return *hit;  // built meanwhile

  observer_.on_build_start(source_);
  std::error_code ec;
  work_ = paths_.work / key.substr(0, 32);
  std::string dirname = source_.version.empty() ? source_.name : source_.name + "-" + source_.version;
  tree_ = editable ? source_.tree : work_ / "src" / dirname;
  fs::remove_all(work_, ec);
  for (const char* sub : {"out", "home", "tmp"}) fs::create_directories(work_ / sub, ec);
  fs::create_directories(paths_.logs, ec);
  log_ = paths_.logs / fmt::format("{}-{}.log", dirname, key.substr(0, 12));
  fs::remove(log_, ec);
  if (!editable)
    if (auto ok = copy_tree(source_.tree, tree_); !ok) return std::unexpected(ok.error());
  const std::string get_requires =
      editable ? "get_requires_for_build_editable" : "get_requires_for_build_wheel";
  const std::string build_hook = editable ? "build_editable" : "build_wheel";

  BuiltWheel built;
  built.backend = system_.backend;
  fs::path python = options_.interpreter.executable;
  fs::path venv;
  if (options_.isolation) {
    std::string origin =
        system_.from_pyproject ? "pyproject.toml [build-system]" : "the default for setup.py";
    std::vector<detail::Wanted> wanted;
    for (const auto& r : system_.requires_) wanted.push_back({r, origin});
    auto pins = choose(wanted);
    if (!pins) return std::unexpected(pins.error());
    auto dir = ensure_env(*pins);
    if (!dir) return std::unexpected(dir.error());
    venv = *dir;
    python = venv / "bin" / "python";
    auto extra = hook(get_requires, python, venv);
    if (!extra) return std::unexpected(extra.error());
    // Requirements the backend adds: a new environment unless the present one satisfies them.
    bool satisfied = true;
    std::vector<detail::Wanted> more = wanted;
    for (const auto& item : *extra) {
      if (!item.is_string()) continue;
      std::string text = item.get<std::string>();
      more.push_back({text, get_requires});
      auto r = pep::Requirement::parse(text);
      if (!r)
        return fail(ErrorKind::runtime, fmt::format("{}: {} returned \"{}\": {}", subject(), get_requires,
                                                    text, r.error().message));
      if (r->marker && !r->marker->evaluate(pep::MarkerContext{&options_.interpreter.markers, "", {}, {}}))
        continue;
      auto found = std::find_if(pins->begin(), pins->end(),
                                [&](const Pin& p) { return p.name == pep::normalize_name(r->name); });
      if (found == pins->end() || !r->specifier.contains(found->version, true) || !r->extras.empty())
        satisfied = false;
    }
    if (!satisfied) {
      pins = choose(more);
      if (!pins) return std::unexpected(pins.error());
      dir = ensure_env(*pins);
      if (!dir) return std::unexpected(dir.error());
      venv = *dir;
      python = venv / "bin" / "python";
    }
    for (const auto& pin : *pins) built.build_requirements.push_back(pin.str());
  }
  auto name = hook(build_hook, python, venv);
  if (!name) return std::unexpected(name.error());
  if (!name->is_string())
    return fail(ErrorKind::runtime,
                fmt::format("{}: {} returned {}, not a file name", subject(), build_hook, name->dump()));
  fs::path wheel = work_ / "out" / name->get<std::string>();
  if (!fs::is_regular_file(wheel, ec))
    return fail(ErrorKind::runtime, fmt::format("{}: {} returned {}, which it did not write", subject(),
                                                build_hook, wheel.filename().string()));
  if (auto ok = verify(wheel); !ok) return std::unexpected(ok.error());
  auto digest = fetch::sha256_file(wheel);
  if (!digest) return std::unexpected(digest.error());

  built.filename = wheel.filename().string();
  built.sha256 = *digest;
  built.editable = editable;
  built.log = log_;
  if (editable) return finish_editable(wheel, key, std::move(built), start);
  auto made = make_temp_dir(paths_.wheels);
  if (!made) return std::unexpected(made.error());
  fs::path staged = *made;
  fs::rename(wheel, staged / built.filename, ec);
  if (ec) fs::copy_file(wheel, staged / built.filename, ec);
  nlohmann::json meta = {{"filename", built.filename},       {"sha256", built.sha256},
                         {"backend", built.backend},         {"build_requirements", built.build_requirements},
                         {"source_key", source_.source_key}, {"name", source_.name},
                         {"version", source_.version},       {"tag", best_tag(options_.interpreter)}};
  if (auto ok =
          util::write_file_atomic(staged / "meta.json", meta.dump(2) + "\n", util::Durability::process_crash);
      !ok)
    return std::unexpected(ok.error());
  fs::create_directories(entry.parent_path(), ec);
  if (auto placed = publish_dir(staged, entry); !placed) return std::unexpected(placed.error());
  // What is in place is what callers get (another process's entry, if it won the rename).
  if (auto placed = cache_lookup(entry)) {
    built.filename = placed->filename;
    built.sha256 = placed->sha256;
  }
  fs::remove_all(work_, ec);
  built.wheel = entry / built.filename;
  built.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return built;
}

}  // namespace

Result<BuiltWheel> Builder::build(const BuildSource& source, BuildObserver& observer) {
  OneBuild one(*state_, source, observer);
  return one.run();
}

Result<BuiltWheel> build_wheel(const BuildSource& source, const BuildOptions& options,
                               fetch::HttpTransport& transport, fetch::CredentialResolver& credentials,
                               BuildObserver& observer) {
  Builder builder(options, transport, credentials);
  return builder.build(source, observer);
}

}  // namespace strata::build
