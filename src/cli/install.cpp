// `strata install`: parse flags into InstallOptions; read the lock, probe the target, select.
// Only --dry-run is wired in this build: it prints the selection and writes nothing.

#include <filesystem>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "env/cache_dir.hpp"
#include "env/probe.hpp"
#include "lock/content_hash.hpp"
#include "lock/load.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::cli {
namespace {

namespace fs = std::filesystem;

// The interpreter whose facts decide markers and requires-python: the venv's own python when the
// environment exists, else --python, else python3 from PATH (what a new venv would be made from).
std::string target_python(const InstallOptions& options) {
  if (!options.env.empty()) {
    fs::path python = fs::path(options.env) / "bin" / "python";
    std::error_code ec;
    if (fs::exists(python, ec)) return python.string();
  }
  if (!options.python.empty()) return options.python;
  return "python3";
}

nlohmann::json artifact_json(const lock::Artifact& a) {
  nlohmann::json j{{"filename", a.filename},
                   {"kind", a.kind == lock::Artifact::Kind::wheel ? "wheel" : "sdist"},
                   {"hashes", a.hashes}};
  if (!a.url.empty()) j["url"] = a.url;
  if (!a.path.empty()) j["path"] = a.path;
  if (a.size) j["size"] = *a.size;
  return j;
}

nlohmann::json package_json(const lock::Package& p) {
  nlohmann::json source{{"kind", lock::to_string(p.source.kind)}};
  if (!p.source.name.empty()) source["name"] = p.source.name;
  if (!p.source.url.empty()) source["url"] = p.source.url;
  if (!p.source.path.empty()) source["path"] = p.source.path;
  nlohmann::json artifacts = nlohmann::json::array();
  for (const auto& a : p.artifacts) artifacts.push_back(artifact_json(a));
  return {{"name", p.name},   {"display_name", p.display_name}, {"version", p.version_text},
          {"source", source}, {"artifacts", artifacts},         {"installable", lock::is_installable(p)}};
}

nlohmann::json selection_json(const lock::Selection& s) {
  nlohmann::json packages = nlohmann::json::array(), excluded = nlohmann::json::array();
  for (const auto& p : s.packages) packages.push_back(package_json(p));
  for (const auto& e : s.excluded)
    excluded.push_back({{"name", e.name}, {"version", e.version}, {"reason", e.reason}});
  return {{"packages", packages}, {"excluded", excluded}, {"groups", s.groups}, {"extras", s.extras}};
}

// "a,b" and repeated flags both give lists.
std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    for (auto piece : util::split(v, ',')) {
      if (!util::trim(piece).empty()) out.emplace_back(util::trim(piece));
    }
  }
  return out;
}

}  // namespace

CLI::App* add_install_command(CLI::App& app, InstallOptions& o) {
  CLI::App* cmd = app.add_subcommand("install", "Install the packages a lock selects into an environment");
  cmd->add_option("LOCK", o.lock, "Lock file or a directory holding one (default: .)");
  cmd->add_option("--env", o.env, "Target virtual environment (created if missing)");
  cmd->add_option("--python", o.python, "Target interpreter (alone: its own environment)");
  cmd->add_option("--prefix", o.prefix, "Install under DIR with --python's scheme (pip --prefix)");
  cmd->add_option("--only", o.only, "Only these groups (comma-separated)");
  cmd->add_option("--with", o.with, "Also these groups (comma-separated)");
  cmd->add_option("--without", o.without, "Not these groups (comma-separated)");
  cmd->add_option("--extras", o.extras, "Extras to install (comma-separated)");
  cmd->add_flag("--all-extras", o.all_extras, "Install every extra");
  cmd->add_option("--index-url", o.index_url, "Replace the default index (also STRATA_INDEX_URL)");
  cmd->add_option("--source", o.sources, "Override a named source: NAME=URL");
  cmd->add_option("--find-links", o.find_links, "Directory of local wheels");
  cmd->add_flag("--offline", o.offline, "Use only the cache and --find-links");
  cmd->add_option("--cache-dir", o.cache_dir, "Cache directory (also STRATA_CACHE_DIR)");
  cmd->add_flag("--dry-run", o.dry_run, "Print the plan; change nothing");
  cmd->add_flag("--no-compile", o.no_compile, "Do not byte-compile");
  cmd->add_option("--link-mode", o.link_mode, "How files leave the cache")
      ->check(CLI::IsMember({"auto", "copy", "hardlink", "reflink"}))
      ->default_str("auto");
  cmd->add_flag("--allow-replace", o.allow_replace, "Replace conflicting installed versions");
  cmd->add_flag("--locked", o.locked, "Fail when poetry.lock is stale against pyproject.toml");
  cmd->add_option("--layer", o.layer, "Install one layer manifest written by `strata plan`");
  return cmd;
}

int run_install(const InstallOptions& options, const Console& console) {
  if (!options.prefix.empty() && options.python.empty())
    throw CommandError(ErrorKind::usage, "install: --prefix needs --python");
  if (!options.layer.empty() && options.dry_run)
    throw CommandError(ErrorKind::usage, "install: --layer is not available with --dry-run in this build");

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
      console.warn(message);
    }
  }

  env::ProbeOptions probe_options;
  if (auto root = env::cache_root(options.cache_dir))
    probe_options.cache_dir = env::interpreter_cache_dir(*root);
  const env::Interpreter target =
      value_or_throw(env::probe_interpreter(target_python(options), probe_options));

  lock::SelectionRequest request;
  request.only = split_list(options.only);
  request.with = split_list(options.with);
  request.without = split_list(options.without);
  request.extras = split_list(options.extras);
  request.all_extras = options.all_extras;
  request.environment = target.markers;
  request.python_full_version = target.version;
  const lock::Selection selection = value_or_throw(lock::select(lock, request));

  if (!options.dry_run) {
    // INTEGRATION POINT: fetch, install and record the ledger (written by the integrator).
    throw CommandError(ErrorKind::runtime, "install: only --dry-run is available in this build");
  }

  if (console.json()) {
    nlohmann::json doc{{"lock", files.lock.string()},
                       {"format", lock.format == lock::Format::poetry ? "poetry" : "pylock"},
                       {"lock_version", lock.lock_version},
                       {"python", target.executable.string()},
                       {"python_version", target.version},
                       {"dry_run", true},
                       {"selection", selection_json(selection)}};
    if (fresh) doc["content_hash_fresh"] = *fresh;
    console.emit(doc);
  }
  console.info(
      fmt::format("{}: {} packages selected for Python {} ({} left out); groups: {}{}", files.lock.string(),
                  selection.packages.size(), target.version, selection.excluded.size(),
                  util::join(selection.groups, ", "),
                  selection.extras.empty() ? "" : "; extras: " + util::join(selection.extras, ", ")));
  for (const auto& p : selection.packages) {
    std::string note = lock::is_installable(p) ? ""
                                               : fmt::format("  (unsupported: {} source needs a build)",
                                                             lock::to_string(p.source.kind));
    if (lock::is_installable(p) || p.source.kind == lock::SourceKind::index) {
      if (!lock::is_installable(p)) note = "  (unsupported: no wheel in the lock)";
    }
    console.info(fmt::format("  install {} {}{}", p.display_name, p.version_text, note));
  }
  for (const auto& e : selection.excluded)
    console.detail(fmt::format("  skip {} {}: {}", e.name, e.version, e.reason));
  return 0;
}

}  // namespace strata::cli
