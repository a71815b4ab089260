#include "plan/image_base_env.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/strings.hpp"
#include "wheel/record.hpp"
#include "wheel/replaced.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

std::string rel(const fs::path& absolute) { return absolute.relative_path().generic_string(); }

bool is_dir(const oci::BaseFiles& files, const std::string& path) {
  const oci::BaseNode* node = files.find(path);
  return node != nullptr && node->type == oci::BaseNode::Type::directory;
}

/// pyvenv.cfg's value of `key` (keys compared case-insensitively, as site.py does), or nullopt.
std::optional<std::string> cfg_value(std::string_view text, std::string_view key) {
  for (auto line : util::split(text, '\n')) {
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    if (util::iequals(util::trim(line.substr(0, eq)), key))
      return std::string(util::trim(line.substr(eq + 1)));
  }
  return std::nullopt;
}

/// The base interpreter's site directories that exist in the base, in sys.path order.
std::vector<fs::path> system_site_dirs(const oci::BaseFiles& files, const oci::BaseTarget& t) {
  const std::string xy = fmt::format("python{}.{}", t.major, t.minor);
  std::vector<fs::path> candidates;
  if (t.prefix == "/usr")  // Debian and Ubuntu: site.py's dist-packages
    candidates = {fs::path("/usr/local/lib") / xy / "dist-packages", "/usr/lib/python3/dist-packages",
                  fs::path("/usr/lib") / xy / "dist-packages"};
  else
    candidates = {fs::path(t.prefix) / "lib" / xy / "site-packages"};
  std::vector<fs::path> out;
  for (auto& c : candidates)
    if (is_dir(files, rel(c))) out.push_back(std::move(c));
  return out;
}

}  // namespace

Result<BaseEnvironment> read_base_environment(const oci::BaseFiles& files, const oci::BaseTarget& target,
                                              const fs::path& venv, const fs::path& scratch) {
  BaseEnvironment out;
  const std::string env = rel(venv);
  const oci::BaseNode* cfg = files.find(env + "/pyvenv.cfg");
  if (cfg == nullptr || cfg->type != oci::BaseNode::Type::file) return out;
  out.exists = true;
  const std::string cfg_text = cfg->content.value_or("");
  out.system_site_packages =
      util::to_lower(cfg_value(cfg_text, "include-system-site-packages").value_or("true")) == "true";
  out.version = cfg_value(cfg_text, "version").value_or(cfg_value(cfg_text, "version_info").value_or(""));
  out.site_dirs = {venv / "lib" / fmt::format("python{}.{}", target.major, target.minor) / "site-packages"};
  if (out.system_site_packages)
    for (auto& dir : system_site_dirs(files, target)) out.site_dirs.push_back(std::move(dir));

  // The metadata of those directories and the environment's ledger, copied under scratch.
  const fs::path root = scratch / "root";
  std::vector<std::string> prefixes = {env + "/.strata/owners/"};
  for (const auto& dir : out.site_dirs) prefixes.push_back(rel(dir) + "/");
  for (const auto& [path, node] : files.nodes) {
    if (!node.content || node.type != oci::BaseNode::Type::file) continue;
    if (std::none_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return path.starts_with(p); }))
      continue;
    std::error_code ec;
    fs::create_directories((root / path).parent_path(), ec);
    if (auto ok = util::write_file_atomic(root / path, *node.content, util::Durability::process_crash); !ok)
      return std::unexpected(ok.error());
  }
  std::vector<fs::path> rerooted;
  for (const auto& dir : out.site_dirs) rerooted.push_back(root / rel(dir));
  auto installed = env::scan_installed(rerooted);
  if (!installed) return std::unexpected(installed.error());
  // Back to the image's paths; a .pth naming an absolute directory would have read this machine's.
  auto in_image = [&](std::vector<env::InstalledDistribution>& list) {
    std::erase_if(list, [&](const env::InstalledDistribution& d) { return !wheel::is_within(d.path, root); });
    for (auto& d : list) {
      d.path = fs::path("/") / d.path.lexically_relative(root);
      d.site_dir = fs::path("/") / d.site_dir.lexically_relative(root);
    }
  };
  in_image(installed->distributions);
  in_image(installed->shadowed);
  for (auto& problem : installed->problems)
    for (auto at = problem.find(root.string()); at != std::string::npos; at = problem.find(root.string()))
      problem.replace(at, root.string().size(), "");
  out.installed = std::move(*installed);
  auto ledger = env::Ledger::load(root / env);
  if (!ledger) return std::unexpected(ledger.error());
  out.ledger = std::move(*ledger);
  return out;
}

Result<std::vector<std::string>> replaced_paths(const oci::BaseFiles& files, const fs::path& old_dist_info,
                                                const std::set<fs::path>& new_destinations,
                                                const std::vector<fs::path>& roots) {
  const std::string di = rel(old_dist_info);
  const auto record = files.nodes.find(di + "/RECORD");
  if (record == files.nodes.end() || !record->second.content)
    return fail(ErrorKind::runtime, fmt::format("{}/RECORD: not in the base image", old_dist_info.string()));
  auto rows = wheel::parse_record(*record->second.content, old_dist_info.string() + "/RECORD");
  if (!rows) return std::unexpected(rows.error());
  std::set<std::string> removed;
  auto children = [&](const std::string& dir, bool deep) {
    std::vector<std::string> out;
    const std::string prefix = dir + "/";
    for (auto it = files.nodes.lower_bound(prefix); it != files.nodes.end() && it->first.starts_with(prefix);
         ++it)
      if (deep || it->first.find('/', prefix.size()) == std::string::npos) out.push_back(it->first);
    return out;
  };
  for (const fs::path& file : wheel::replaced_files(old_dist_info, *rows, new_destinations, roots)) {
    if (files.nodes.contains(rel(file))) removed.insert(rel(file));
    if (file.extension() != ".py") continue;
    for (const auto& pyc : children(rel(file.parent_path() / "__pycache__"), false))
      if (wheel::is_bytecode_of(fs::path(pyc).filename().string(), file)) removed.insert(pyc);
  }
  removed.insert(di);
  for (const auto& p : children(di, true)) removed.insert(p);
  // Directories left empty, deepest first (commit prunes from each removed file's directory up).
  std::set<std::string> candidates;
  for (const auto& p : removed)
    for (fs::path dir = fs::path("/" + p).parent_path(); dir != dir.root_path(); dir = dir.parent_path()) {
      bool inside = false;
      for (const auto& r : roots) inside = inside || wheel::is_within(dir, r);
      if (!inside) break;
      candidates.insert(rel(dir));
    }
  std::vector<std::string> deepest(candidates.begin(), candidates.end());
  std::sort(deepest.begin(), deepest.end(), [](const std::string& a, const std::string& b) {
    return std::count(a.begin(), a.end(), '/') > std::count(b.begin(), b.end(), '/');
  });
  for (const auto& dir : deepest) {
    if (removed.contains(dir)) continue;
    const fs::path absolute = "/" + dir;
    if (std::any_of(new_destinations.begin(), new_destinations.end(),
                    [&](const fs::path& d) { return wheel::is_within(d, absolute); }))
      continue;
    auto kids = children(dir, false);
    if (std::all_of(kids.begin(), kids.end(), [&](const std::string& k) { return removed.contains(k); }))
      removed.insert(dir);
  }
  return std::vector<std::string>(removed.begin(), removed.end());
}

std::vector<oci::LayerEntry> whiteouts(const std::vector<std::string>& removed,
                                       const std::vector<oci::LayerEntry>& entries) {
  std::set<std::string> written;
  for (const auto& e : entries)
    for (fs::path p = e.path; !p.empty(); p = p.parent_path()) written.insert(p.generic_string());
  std::vector<std::string> sorted = removed;
  std::sort(sorted.begin(), sorted.end(), [](const std::string& a, const std::string& b) {
    const auto da = std::count(a.begin(), a.end(), '/'), db = std::count(b.begin(), b.end(), '/');
    return da != db ? da < db : a < b;
  });
  std::set<std::string> hidden;
  std::vector<oci::LayerEntry> out;
  for (const auto& p : sorted) {
    if (written.contains(p)) continue;
    bool below_hidden = false;
    for (fs::path a = fs::path(p).parent_path(); !a.empty() && !below_hidden; a = a.parent_path())
      below_hidden = hidden.contains(a.generic_string());
    if (below_hidden) continue;
    hidden.insert(p);
    const fs::path path(p);
    oci::LayerEntry e;
    e.path = (path.parent_path() / (".wh." + path.filename().string())).generic_string();
    e.type = oci::LayerEntry::Type::file;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace strata::plan
