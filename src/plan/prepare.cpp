#include "plan/prepare.hpp"

#include <cctype>
#include <cstdlib>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "env/cache_dir.hpp"
#include "env/default_target.hpp"
#include "env/venv.hpp"
#include "fetch/curl_transport.hpp"
#include "lock/content_hash.hpp"
#include "lock/json.hpp"
#include "lock/project.hpp"
#include "pep/tags.hpp"
#include "plan/locate.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

/// Replaces a leading `from` in `path` with `to` (pip's --prefix: the scheme re-rooted).
fs::path reroot(const fs::path& path, const fs::path& from, const fs::path& to) {
  auto rel = path.lexically_relative(from);
  if (rel.empty() || *rel.begin() == "..") return path;
  return to / rel;
}

std::string interpreter_or_default(const std::string& python) { return python.empty() ? "python3" : python; }

/// Poetry: whether the lock's content-hash matches pyproject.toml; Pipfile.lock: whether its
/// _meta.hash matches the Pipfile beside it (when there is one). A stale lock is a warning, or
/// with `locked` an error.
std::optional<bool> check_fresh(const lock::LockFiles& files, const lock::Lock& lock, bool locked,
                                PlanObserver& observer) {
  bool pipfile = files.format == lock::Format::pipfile;
  if (files.format != lock::Format::poetry &&
      !(pipfile && !files.pyproject.empty() && !lock.content_hash.empty()))
    return std::nullopt;
  std::string project = value_or_throw(util::read_file(files.pyproject));
  bool fresh =
      pipfile ? value_or_throw(lock::pipfile_hash(project, files.pyproject.string())) == lock.content_hash
              : value_or_throw(lock::content_hash_matches(lock, project, files.pyproject.string()));
  if (!fresh) {
    std::string message = fmt::format("{}: the lock is stale: its {} does not match {} (run `{}`)",
                                      files.lock.string(), pipfile ? "_meta.hash" : "content-hash",
                                      files.pyproject.string(), pipfile ? "pipenv lock" : "poetry lock");
    if (locked) throw CommandError(ErrorKind::check, message);
    observer.on_warning(message);
  }
  return fresh;
}

/// The scheme of a virtual environment of `interpreter` in `dir` (as env::create_venv lays it out).
void venv_scheme(env::Interpreter& interpreter, const fs::path& dir) {
  const std::string xy = fmt::format("{}{}.{}", interpreter.implementation == "pypy" ? "pypy" : "python",
                                     interpreter.major, interpreter.minor);
  const std::string lib =
      (dir / "lib" / (xy + (interpreter.tag_env.gil_disabled ? "t" : "")) / "site-packages").string();
  interpreter.paths["purelib"] = interpreter.paths["platlib"] = lib;
  interpreter.paths["scripts"] = (dir / "bin").string();
  interpreter.paths["data"] = dir.string();
  interpreter.paths["headers"] = (dir / "include" / "site" / xy).string();
  interpreter.prefix = interpreter.exec_prefix = dir;
  interpreter.in_venv = true;
  interpreter.executable = interpreter.sys_executable = dir / "bin" / "python";
  interpreter.site_dirs = {lib};
}

/// A described target (--python-version/--platform) installed into an existing venv: the venv's
/// interpreter must be the one described — its pyvenv.cfg's Python X.Y, and its bin/python's ELF
/// machine when that resolves on this host.
void check_venv_matches(const fs::path& dir, const env::Interpreter& described, const PlanRequest& request) {
  const std::string version = env::venv_python_version(dir);
  auto parts = util::split(version, '.');
  const std::string xy = fmt::format("{}.{}", described.major, described.minor);
  if (parts.size() >= 2 && fmt::format("{}.{}", parts[0], parts[1]) != xy)
    throw CommandError(ErrorKind::usage,
                       fmt::format("--env {} is a virtual environment of Python {}, but --python-version {} "
                                   "describes Python {}: give one of them",
                                   request.env, version, request.spec.python_version, xy));
  if (auto machine = env::elf_machine(dir / "bin" / "python")) {
    const std::string& wanted = described.markers.at("platform_machine");
    if (*machine != wanted)
      throw CommandError(
          ErrorKind::usage,
          fmt::format("--env {} has an {} interpreter, but --platform {} describes {}: give one "
                      "of them",
                      request.env, *machine, request.spec.platform, wanted));
  }
}

Target resolve_described(const PlanRequest& request) {
  const env::TargetSpec& spec = request.spec;
  if (spec.python_version.empty())
    throw CommandError(
        ErrorKind::usage,
        "--platform, --implementation and --abi need --python-version X.Y: a target without an "
        "interpreter has nothing to ask its version");
  if (!request.python.empty())
    throw CommandError(
        ErrorKind::usage,
        fmt::format("--python {} and --python-version {} cannot be used together: --python-version "
                    "and --platform describe a target without an interpreter",
                    request.python, spec.python_version));
  Target target;
  target.interpreter = value_or_throw(env::describe_interpreter(spec));
  target.described = true;
  target.platform = spec.platform.empty() ? std::string("(the host)") : spec.platform;
  if (!request.env.empty()) {
    const fs::path dir = fs::absolute(request.env);
    if (!env::is_venv(dir))
      throw CommandError(
          ErrorKind::usage,
          fmt::format("--env {}: no virtual environment there, and --python-version {} describes a "
                      "target without an interpreter to create one with: install with --prefix DIR "
                      "or --target DIR, or create the venv first",
                      request.env, spec.python_version));
    check_venv_matches(dir, target.interpreter, request);
    venv_scheme(target.interpreter, dir);
    target.root = dir;
    return with_scheme(std::move(target), false);
  }
  if (!request.prefix.empty() || !request.target_dir.empty()) return target;  // re-rooted by the caller
  // Nothing to read or write: plan, check, fetch and export only need markers and tags.
  target.exists = false;
  target.root.clear();
  target.interpreter.site_dirs.clear();
  return with_scheme(std::move(target), false);
}

Target resolve_target(const PlanRequest& request, const env::ProbeOptions& probe) {
  const bool described = is_described(request.spec);
  if (!request.prefix.empty() && request.python.empty() && !described)
    throw CommandError(ErrorKind::usage,
                       "--prefix needs --python (the interpreter whose scheme is re-rooted) or "
                       "--python-version/--platform");
  if (!request.prefix.empty() && !request.env.empty())
    throw CommandError(ErrorKind::usage, "--env and --prefix cannot be used together");
  if (!request.target_dir.empty() && (!request.env.empty() || !request.prefix.empty()))
    throw CommandError(ErrorKind::usage,
                       fmt::format("--target {} cannot be used with {}: it is a directory of its own",
                                   request.target_dir, request.env.empty() ? "--prefix" : "--env"));

  Target target;
  if (request.interpreter) {
    if (request.env.empty()) throw CommandError(ErrorKind::usage, "a computed target needs --env");
    target.interpreter = *request.interpreter;
    target.root = request.env;
    target.exists = false;
    target.described = true;  // nothing to run: bytecode by a host interpreter of its X.Y
    target.source = "--env";
    target.platform = "(the base image)";
    return with_scheme(std::move(target), false);
  }
  std::string env_dir = request.env;
  target.source = described                     ? "--python-version/--platform"
                  : !request.env.empty()        ? "--env"
                  : !request.prefix.empty()     ? "--prefix"
                  : !request.target_dir.empty() ? "--target"
                                                : "--python";
  if (request.default_target && !described && request.env.empty() && request.python.empty() &&
      request.prefix.empty() && request.target_dir.empty()) {
    env::DefaultTarget chosen = env::default_target();
    env_dir = chosen.env.string();
    target.source = chosen.source;
  }
  if (described) {
    std::string source = target.source;
    target = resolve_described(request);
    target.source = source;
    if (request.prefix.empty() && request.target_dir.empty()) return target;
  } else if (!env_dir.empty()) {
    fs::path dir = fs::absolute(env_dir);
    if (!env::is_venv(dir)) {
      // Nothing is written yet: plan against the base interpreter, with nothing installed; the
      // venv is created once the plan has no problems (install's create_venv_target).
      target.interpreter =
          value_or_throw(env::probe_interpreter(interpreter_or_default(request.python), probe));
      target.root = dir;
      target.exists = false;
      return target;
    }
    target.interpreter = value_or_throw(env::probe_interpreter((dir / "bin" / "python").string(), probe));
    target.root = dir;
    return with_scheme(std::move(target), false);
  } else {
    target.interpreter =
        value_or_throw(env::probe_interpreter(interpreter_or_default(request.python), probe));
  }
  if (!request.target_dir.empty()) {
    // pip's --target: one flat directory for PYTHONPATH; only it is read for the overlay.
    const fs::path dir = fs::absolute(request.target_dir).lexically_normal();
    for (auto& [key, value] : env::target_dir_scheme(dir)) target.interpreter.paths[key] = value;
    target.interpreter.site_dirs.clear();
    target.root = dir;
    return with_scheme(std::move(target), true);
  }
  if (!request.prefix.empty()) {
    fs::path prefix = fs::absolute(request.prefix);
    for (auto& [key, value] : target.interpreter.paths) {
      fs::path p = value;
      fs::path moved = reroot(p, target.interpreter.exec_prefix, prefix);
      if (moved == p) moved = reroot(p, target.interpreter.prefix, prefix);
      value = moved.string();
    }
    // A described interpreter's own site dirs are the target system's, not on this host.
    if (target.described) target.interpreter.site_dirs.clear();
    target.root = prefix;
    return with_scheme(std::move(target), true);
  }
  auto data = target.interpreter.paths.find("data");
  if (data == target.interpreter.paths.end())
    throw CommandError(ErrorKind::runtime, fmt::format("{}: the probe found no \"data\" scheme path",
                                                       target.interpreter.executable.string()));
  target.root = data->second;
  return with_scheme(std::move(target), false);
}

}  // namespace

std::string owner_for(const PlanRequest& request, const lock::LockFiles& files, const lock::Lock& lock,
                      PlanObserver& observer) {
  if (lock.format == lock::Format::manifest) {
    if (!request.owner.empty())
      throw CommandError(ErrorKind::usage,
                         fmt::format("{}: --owner does not apply to a layer manifest: its owner is {}",
                                     files.lock.string(), env::layer_owner(lock.layer_project, lock.layer)));
    return env::layer_owner(lock.layer_project, lock.layer);
  }
  if (request.layer)
    throw CommandError(
        ErrorKind::usage,
        fmt::format("{}: --layer takes a layer manifest written by `strata plan` (NN-<name>.toml); "
                    "install a lock without --layer",
                    files.lock.string()));
  if (!request.owner.empty()) return value_or_throw(env::project_owner(request.owner, "--owner"));
  if (!lock.project_name.empty()) return lock.project_name;
  const fs::path dir = fs::weakly_canonical(fs::absolute(files.lock)).parent_path();
  const fs::path pyproject = dir / "pyproject.toml";
  std::error_code ec;
  if (files.format != lock::Format::poetry && fs::is_regular_file(pyproject, ec)) {
    auto text = util::read_file(pyproject);
    auto name = text ? lock::read_project_name(*text, pyproject.string()) : std::unexpected(text.error());
    if (name && !name->empty()) return *name;
    if (!name)
      observer.on_warning(fmt::format(
          "{} (the owner is the lock's directory name instead; set one with --owner)", name.error().message));
  }
  // A directory name as a project name: what is not a letter, digit, ".", "-" or "_" becomes "-".
  std::string base = dir.filename().string();
  for (char& c : base)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '-';
  while (!base.empty() && !std::isalnum(static_cast<unsigned char>(base.front()))) base.erase(base.begin());
  while (!base.empty() && !std::isalnum(static_cast<unsigned char>(base.back()))) base.pop_back();
  auto owner = env::project_owner(base, "directory name");
  if (!owner)
    throw CommandError(
        ErrorKind::usage,
        fmt::format("{}: the lock names no project and its directory {} gives no name; name the "
                    "owner with --owner NAME",
                    files.lock.string(), dir.string()));
  return *owner;
}

namespace {

lock::SelectionRequest selection_request(const PlanRequest& request, const env::Interpreter& interpreter) {
  lock::SelectionRequest out;
  out.only = request.only;
  out.with = request.with;
  out.without = request.without;
  out.extras = request.extras;
  out.all_extras = request.all_extras;
  out.packages = request.packages;
  out.all_packages = request.all_packages;
  out.environment = interpreter.markers;
  out.python_full_version = interpreter.version;
  return out;
}

/// Files the lock knows only by hash (requirements.txt, Pipfile.lock) looked up by their hash in
/// --find-links and on the index pages, for the selected packages only. Where the lock names
/// indexes beyond the package's own, or find-links (pdm's sources), files it knows by name and
/// hash are looked up so too: they may be on any of them.
void locate(const PlanRequest& request, Plan& plan, const TagRanking& ranking, PlanObserver& observer) {
  const bool by_name_too = !plan.lock.extra_index_urls.empty() || !plan.lock.find_links.empty();
  if (!needs_locating(plan.selection.packages, by_name_too)) return;
  fetch::FetchOptions options = request.index;
  options.cache_dir = plan.cache_root;
  if (options.index_url.empty())  // commands without --index-url (check) still honour the variable
    if (const char* env = std::getenv("STRATA_INDEX_URL"); env && *env) options.index_url = env;
  for (const auto& link : plan.lock.find_links) {  // requirements.txt --find-links
    std::error_code ec;
    if (link.find("://") != std::string::npos) continue;  // a page of links: locate reads it
    if (fs::is_directory(link, ec))
      options.find_links.push_back(fs::absolute(link));
    else
      observer.on_phase(
          fmt::format("{}: --find-links {} ignored (not a directory)", plan.files.lock.string(), link));
  }
  fetch::CurlGlobal curl;
  fetch::CurlTransport transport(curl, value_or_throw(fetch::curl_options_from_env()));
  fetch::CredentialResolver credentials(fetch::process_env());
  LocateStats stats;
  value_or_throw(locate_hashed_artifacts(plan.selection.packages, plan.lock, options, transport, credentials,
                                         stats, by_name_too,
                                         locate_target(plan.target.interpreter.version, &ranking)));
  observer.on_phase(
      fmt::format("Located {} locked files by hash ({} index pages asked, {} from the cache, {} "
                  "from --find-links, {} downloaded to hash them)",
                  stats.located, stats.pages, stats.from_cache, stats.from_find_links, stats.downloaded));
  for (const auto& note : stats.notes) observer.on_phase(note);
}

}  // namespace

bool is_described(const env::TargetSpec& spec) {
  return !spec.python_version.empty() || !spec.platform.empty() || !spec.implementation.empty() ||
         !spec.abi.empty();
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

nlohmann::json to_json(const Target& target) {
  nlohmann::json out = {{"python", target.interpreter.executable.string()},
                        {"real_python", target.interpreter.real_executable.string()},
                        {"source", target.source},
                        {"version", target.interpreter.version},
                        {"root", target.root.string()},
                        {"purelib", target.scheme.purelib.string()},
                        {"exists", target.exists},
                        {"described", target.described}};
  if (target.described) {
    out["implementation"] = target.interpreter.implementation;
    out["platform"] = target.platform;
  }
  return out;
}

const ChosenBuild* Plan::build(std::string_view name) const {
  for (const auto& b : choices.builds)
    if (b.package->name == name) return &b;
  return nullptr;
}

const ChosenWheel& Plan::wheel(std::string_view name) const {
  for (const auto& c : choices.chosen)
    if (c.package->name == name) return c;
  throw CommandError(ErrorKind::runtime, fmt::format("internal error: {} has no chosen wheel", name));
}

std::vector<std::string> Plan::problems() const {
  std::vector<std::string> out = choices.problems;
  out.insert(out.end(), overlay.conflicts.begin(), overlay.conflicts.end());
  return out;
}

Overlay check_overlay(const Plan& plan, bool allow_replace) {
  env::InstalledSet installed;
  env::Ledger ledger;
  if (plan.target.exists) {
    installed = value_or_throw(env::scan_installed(plan.target.site_dirs));
    ledger = value_or_throw(env::Ledger::load(plan.target.root));
  }
  return decide_overlay(plan, std::move(installed), std::move(ledger), allow_replace);
}

Overlay decide_overlay(const Plan& plan, env::InstalledSet installed, env::Ledger ledger, bool allow_replace,
                       bool all_in_target) {
  Overlay o;
  o.installed = std::move(installed);
  o.ledger = std::move(ledger);
  if (!plan.legacy_owner.empty()) o.migrated = o.ledger.reassign(plan.legacy_owner, plan.owner);
  DecideOptions options{.owner = plan.owner,
                        .allow_replace = allow_replace,
                        .markers = plan.target.interpreter.markers,
                        .exact = plan.exact,
                        .library_dirs = {}};
  if (plan.target.exists && !all_in_target)
    options.library_dirs = {plan.target.scheme.purelib, plan.target.scheme.platlib};
  o.decisions = decide(plan.selected, o.installed, o.ledger, options);
  std::set<std::string, std::less<>> locked;
  for (const auto& package : plan.lock.packages) locked.insert(package.name);
  for (const auto& [name, entry] : o.ledger.entries())
    if (entry.owner == plan.owner && !locked.contains(name)) o.removed.push_back(entry);
  for (const auto& d : o.decisions.decisions) {
    if (d.action != Action::conflict) continue;
    std::string line = fmt::format("{} {}: {}", d.name, d.version.str(), d.reason);
    std::vector<std::string> broken;
    for (const auto& b : d.broken)
      broken.push_back(fmt::format("{} {} (requires {})", b.name, b.version, b.requirement));
    if (!broken.empty()) line += fmt::format("; replacing it would break {}", util::join(broken, ", "));
    o.conflicts.push_back(std::move(line));
  }
  return o;
}

namespace {

/// Passes lines on and keeps the warnings (Plan::warnings, for --json documents).
class RecordingObserver final : public PlanObserver {
 public:
  RecordingObserver(PlanObserver& next, std::vector<std::string>& warnings)
      : next_(next), warnings_(warnings) {}
  void on_phase(std::string_view line) override { next_.on_phase(line); }
  void on_warning(std::string_view line) override {
    warnings_.emplace_back(line);
    next_.on_warning(line);
  }

 private:
  PlanObserver& next_;
  std::vector<std::string>& warnings_;
};

}  // namespace

nlohmann::json selection_json(const Plan& plan) {
  nlohmann::json out = lock::to_json(plan.selection);
  std::set<std::string> planned;
  for (const auto& c : plan.choices.chosen) planned.insert(c.package->name);
  for (const auto& b : plan.choices.builds) planned.insert(b.package->name);
  for (auto& package : out["packages"])
    package["installable"] = planned.contains(package.value("name", std::string()));
  return out;
}

Plan prepare(const PlanRequest& request, PlanObserver& outer) {
  Plan plan;
  RecordingObserver observer(outer, plan.warnings);
  // Read the lock.
  plan.files = value_or_throw(lock::find_lock(request.lock));
  plan.lock = value_or_throw(lock::load_lock(plan.files.lock));
  plan.fresh = check_fresh(plan.files, plan.lock, request.locked, observer);

  // Probe the target.
  plan.cache_root = value_or_throw(env::cache_root(request.cache_dir));
  plan.probe.cache_dir = env::interpreter_cache_dir(plan.cache_root);
  plan.target = resolve_target(request, plan.probe);
  if (plan.target.source == "VIRTUAL_ENV" || plan.target.source == "./.venv" || plan.target.source == "PATH")
    observer.on_phase(
        env::describe({plan.target.source == "PATH" ? fs::path() : plan.target.root, plan.target.source},
                      plan.target.interpreter));
  if (plan.target.described)
    observer.on_phase(fmt::format("Target {} {} on {} (described: no interpreter is run)",
                                  plan.target.interpreter.implementation, plan.target.interpreter.version,
                                  plan.target.platform));
  else
    observer.on_phase(fmt::format("Target {} (Python {})", plan.target.interpreter.executable.string(),
                                  plan.target.interpreter.version));

  // Select and choose wheels.
  plan.selection =
      value_or_throw(lock::select(plan.lock, selection_request(request, plan.target.interpreter)));
  const TagRanking ranking(pep::supported_tags(plan.target.interpreter.tag_env));
  locate(request, plan, ranking, observer);
  plan.choices = choose_wheels(plan.lock, plan.selection, ranking,
                               fs::absolute(plan.files.lock).parent_path(), request.build);
  for (const auto& note : plan.choices.notes) observer.on_phase(note);
  for (const auto& c : plan.choices.chosen)
    plan.selected.push_back({c.package->name, c.package->version, c.request.filename, c.request.sha256});
  // A built package is "the same wheel" when it comes from the same source: the ledger records
  // the source key as its wheel.
  for (const auto& b : plan.choices.builds) {
    auto version = pep::Version::parse(b.version);
    if (!version) {
      plan.choices.problems.push_back(fmt::format("{}: invalid version \"{}\"", b.package->name, b.version));
      continue;
    }
    plan.selected.push_back({b.package->name, *version, b.source_key, ""});
  }

  // Decide the overlay: what is installed, who owns it. A first look, without the environment
  // lock: it decides whether anything is to be written at all (writers look again once locked).
  if (!request.overlay) return plan;
  plan.owner = owner_for(request, plan.files, plan.lock, observer);
  if (plan.lock.format != lock::Format::manifest)  // layers never had "lock:<path>" owners
    plan.legacy_owner = value_or_throw(env::lock_owner(plan.files.lock));
  plan.exact = request.exact;
  plan.overlay = check_overlay(plan, request.allow_replace);
  return plan;
}

}  // namespace strata::plan
