#include "plan/prepare.hpp"

#include <fmt/format.h>

#include "env/cache_dir.hpp"
#include "env/venv.hpp"
#include "lock/content_hash.hpp"
#include "pep/tags.hpp"
#include "util/fs.hpp"

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

/// Poetry only: whether the lock's content-hash matches pyproject.toml. A stale lock is a warning,
/// or with `locked` an error.
std::optional<bool> check_fresh(const lock::LockFiles& files, const lock::Lock& lock, bool locked,
                                PlanObserver& observer) {
  if (files.format != lock::Format::poetry) return std::nullopt;
  std::string pyproject = value_or_throw(util::read_file(files.pyproject));
  bool fresh = value_or_throw(lock::content_hash_matches(lock, pyproject, files.pyproject.string()));
  if (!fresh) {
    std::string message =
        fmt::format("{}: the lock is stale: its content-hash does not match {} (run `poetry lock`)",
                    files.lock.string(), files.pyproject.string());
    if (locked) throw CommandError(ErrorKind::check, message);
    observer.on_warning(message);
  }
  return fresh;
}

Target resolve_target(const PlanRequest& request, const env::ProbeOptions& probe) {
  if (!request.prefix.empty() && request.python.empty())
    throw CommandError(ErrorKind::usage,
                       "--prefix needs --python: the interpreter whose scheme is re-rooted");
  if (!request.prefix.empty() && !request.env.empty())
    throw CommandError(ErrorKind::usage, "--env and --prefix cannot be used together");

  Target target;
  if (!request.env.empty()) {
    fs::path dir = fs::absolute(request.env);
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
  } else {
    target.interpreter =
        value_or_throw(env::probe_interpreter(interpreter_or_default(request.python), probe));
    if (!request.prefix.empty()) {
      fs::path prefix = fs::absolute(request.prefix);
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
  return with_scheme(std::move(target), !request.prefix.empty());
}

lock::SelectionRequest selection_request(const PlanRequest& request, const env::Interpreter& interpreter) {
  lock::SelectionRequest out;
  out.only = request.only;
  out.with = request.with;
  out.without = request.without;
  out.extras = request.extras;
  out.all_extras = request.all_extras;
  out.environment = interpreter.markers;
  out.python_full_version = interpreter.version;
  return out;
}

}  // namespace

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
  return {{"python", target.interpreter.executable.string()},
          {"version", target.interpreter.version},
          {"root", target.root.string()},
          {"purelib", target.scheme.purelib.string()},
          {"exists", target.exists}};
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
  Overlay o;
  if (plan.target.exists) {
    o.installed = value_or_throw(env::scan_installed(plan.target.site_dirs));
    o.ledger = value_or_throw(env::Ledger::load(plan.target.root));
  }
  o.decisions = decide(
      plan.selected, o.installed, o.ledger,
      {.owner = plan.owner, .allow_replace = allow_replace, .markers = plan.target.interpreter.markers});
  for (const auto& d : o.decisions.decisions)
    if (d.action == Action::conflict)
      o.conflicts.push_back(fmt::format("{} {}: {}", d.name, d.version.str(), d.reason));
  return o;
}

Plan prepare(const PlanRequest& request, PlanObserver& observer) {
  Plan plan;
  // Read the lock.
  plan.files = value_or_throw(lock::find_lock(request.lock));
  plan.lock = value_or_throw(lock::load_lock(plan.files.lock));
  plan.fresh = check_fresh(plan.files, plan.lock, request.locked, observer);

  // Probe the target.
  plan.cache_root = value_or_throw(env::cache_root(request.cache_dir));
  plan.probe.cache_dir = env::interpreter_cache_dir(plan.cache_root);
  plan.target = resolve_target(request, plan.probe);
  observer.on_phase(fmt::format("Target {} (Python {})", plan.target.interpreter.executable.string(),
                                plan.target.interpreter.version));

  // Select and choose wheels.
  plan.selection =
      value_or_throw(lock::select(plan.lock, selection_request(request, plan.target.interpreter)));
  const TagRanking ranking(pep::supported_tags(plan.target.interpreter.tag_env));
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
  plan.owner = value_or_throw(env::lock_owner(plan.files.lock));
  if (request.overlay) plan.overlay = check_overlay(plan, request.allow_replace);
  return plan;
}

}  // namespace strata::plan
