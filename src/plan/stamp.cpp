#include "plan/stamp.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <system_error>

#include <fmt/format.h>

#include "env/cache_dir.hpp"
#include "fetch/hash.hpp"
#include "lock/load.hpp"
#include "plan/install.hpp"
#include "plan/prepare.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace strata::plan {
namespace fs = std::filesystem;
namespace {

constexpr int kStampFormat = 1;

/// What stat(2) (lstat with `follow` false) says of a path: device, inode, mode, links, size,
/// mtime and ctime in nanoseconds; "-" for a path that does not exist (that is recorded too).
std::string stat_line(const fs::path& path, bool follow = true) {
  struct stat st {};
  if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) return "-";
  return fmt::format("{}:{}:{:o}:{}:{}:{}.{:09}:{}.{:09}", st.st_dev, st.st_ino, st.st_mode, st.st_nlink,
                     st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec,
                     st.st_ctim.tv_nsec);
}

/// The newest mtime or ctime of the watched paths, and whether any has a sub-second part.
struct Times {
  long long newest_ns = 0;
  bool subsecond = false;
};

void add_times(Times& times, const fs::path& path, bool follow) {
  struct stat st {};
  if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) return;
  for (const timespec& t : {st.st_mtim, st.st_ctim}) {
    times.newest_ns =
        std::max(times.newest_ns, static_cast<long long>(t.tv_sec) * 1'000'000'000LL + t.tv_nsec);
    times.subsecond = times.subsecond || t.tv_nsec != 0;
  }
}

long long now_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return static_cast<long long>(t.tv_sec) * 1'000'000'000LL + t.tv_nsec;
}

bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

/// Whether a `.pth` file only imports (or comments): one that adds directories to sys.path makes
/// the scan read directories the stamp does not watch, so such an environment gets no stamp.
bool pth_adds_nothing(const fs::path& file) {
  auto text = util::read_file(file);
  if (!text) return false;
  for (std::string_view raw : util::split(*text, '\n')) {
    std::string_view line = util::trim(raw);
    if (line.empty() || line.starts_with('#') || line.starts_with("import ") || line.starts_with("import\t"))
      continue;
    return false;
  }
  return true;
}

/// A file whose content counts: its stat, and its sha256 for when only the stat changed (a lock
/// copied anew into a Docker build context).
nlohmann::json content_of(const fs::path& path) {
  std::error_code ec;
  if (path.empty() || !fs::is_regular_file(path, ec)) return {{"path", path.string()}, {"absent", true}};
  auto digest = fetch::sha256_file(path);
  return {
      {"path", path.string()}, {"stat", stat_line(path)}, {"sha256", digest ? *digest : std::string("?")}};
}

/// Whether a content entry still holds: the same stat, else the same bytes.
bool content_holds(const nlohmann::json& entry) {
  const fs::path path = entry.value("path", std::string());
  std::error_code ec;
  if (entry.value("absent", false)) return path.empty() || !fs::exists(path, ec);
  if (stat_line(path) == entry.value("stat", std::string())) return true;
  auto digest = fetch::sha256_file(path);
  return digest && *digest == entry.value("sha256", std::string());
}

/// Every path whose stat the stamp compares, with whether to follow a symlink; false when the
/// environment cannot be stamped (a .pth file that adds directories, a site dir that cannot be
/// listed).
bool watched_paths(const Plan& plan, const InstallOptions& options,
                   std::vector<std::pair<fs::path, bool>>& out) {
  const Target& target = plan.target;
  const fs::path state = target.root / ".strata";
  out.emplace_back(target.root, true);
  out.emplace_back(target.root / "pyvenv.cfg", true);
  out.emplace_back(target.root / "bin" / "python", false);
  out.emplace_back(target.interpreter.executable, true);
  out.emplace_back(target.interpreter.real_executable, true);
  out.emplace_back(state, true);
  out.emplace_back(state / "ledger.json", true);
  out.emplace_back(env::Ledger::owners_dir(target.root), true);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(env::Ledger::owners_dir(target.root), ec))
    out.emplace_back(entry.path(), true);
  for (const auto& dir : options.find_links) out.emplace_back(fs::absolute(dir), true);
  out.emplace_back("/proc/self/exe", true);
  for (const auto& site_dir : target.site_dirs) {
    out.emplace_back(site_dir, true);
    if (!fs::is_directory(site_dir, ec)) continue;
    std::vector<fs::path> entries;
    fs::directory_iterator it(site_dir, ec);
    if (ec) return false;
    for (; it != fs::directory_iterator(); it.increment(ec)) entries.push_back(it->path());
    if (ec) return false;
    std::sort(entries.begin(), entries.end());
    for (const auto& entry : entries) {
      const std::string name = entry.filename().string();
      if (ends_with(name, ".pth")) {
        if (!pth_adds_nothing(entry)) return false;
        out.emplace_back(entry, true);
      } else if (ends_with(name, ".dist-info") || ends_with(name, ".egg-info")) {
        out.emplace_back(entry, false);
        if (!fs::is_directory(entry, ec)) continue;
        std::vector<fs::path> files;
        for (const auto& file : fs::directory_iterator(entry, ec)) files.push_back(file.path());
        std::sort(files.begin(), files.end());
        for (auto& file : files) out.emplace_back(std::move(file), false);
      }
    }
  }
  return true;
}

nlohmann::json stats_of(const std::vector<std::pair<fs::path, bool>>& paths) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [path, follow] : paths) out.push_back({path.string(), follow, stat_line(path, follow)});
  return out;
}

/// Why the plan gets no stamp, or empty: what a stamped answer could not repeat (warnings, git
/// sources checked against their remote, directories built from source that may change).
bool stampable(const Plan& plan) {
  if (!plan.target.exists || plan.target.described || !plan.target.state_dir.empty()) return false;
  if (plan.fresh && !*plan.fresh) return false;
  if (!plan.problems().empty()) return false;
  for (const auto& build : plan.choices.builds)
    if (build.from == BuildFrom::git || build.from == BuildFrom::directory) return false;
  return true;
}

}  // namespace

std::optional<StampFile> stamp_file(const InstallOptions& options) {
  if (options.dry_run || !options.layer.empty() || options.env.empty() || is_described(options.spec))
    return std::nullopt;
  std::error_code ec;
  const fs::path root = fs::absolute(options.env).lexically_normal();
  nlohmann::json key = {{"format", kStampFormat},
                        {"cwd", fs::current_path(ec).string()},
                        {"lock", options.lock},
                        {"env", root.string()},
                        {"python", options.python},
                        {"prefix", options.prefix},
                        {"target", options.target_dir},
                        {"only", options.only},
                        {"with", options.with},
                        {"without", options.without},
                        {"extras", options.extras},
                        {"all_extras", options.all_extras},
                        {"packages", options.packages},
                        {"all_packages", options.all_packages},
                        {"index_url", options.index_url},
                        {"sources", options.sources},
                        {"find_links", options.find_links},
                        {"offline", options.offline},
                        {"cache_dir", options.cache_dir},
                        {"no_compile", options.no_compile},
                        {"link_mode", options.link_mode},
                        {"allow_replace", options.allow_replace},
                        {"exact", options.exact},
                        {"locked", options.locked},
                        {"owner", options.owner},
                        {"keep_removed", options.keep_removed},
                        {"no_build", options.no_build},
                        {"only_binary", options.only_binary},
                        {"no_build_isolation", options.no_build_isolation},
                        {"no_build_isolation_packages", options.no_build_isolation_packages},
                        {"build_constraints", options.build_constraints},
                        {"build_jobs", options.build_jobs},
                        {"install_project", options.install_project},
                        {"no_editable", options.no_editable}};
  if (const char* index = std::getenv("STRATA_INDEX_URL")) key["STRATA_INDEX_URL"] = index;
  auto cache = env::cache_root(options.cache_dir);
  if (!cache) return std::nullopt;
  StampFile out;
  out.env_root = root;
  out.cache_root = *cache;
  out.lock_argument = options.lock;
  // Only the digest is kept: an index URL or a --source may carry credentials.
  fetch::Sha256 digest;
  digest.update(key.dump());
  out.key = digest.hex_digest();
  out.path = *cache / "stamps" / (out.key.substr(0, 32) + ".json");
  return out;
}

nlohmann::json stamp_state(const Plan& plan, const InstallOptions& options) {
  std::vector<std::pair<fs::path, bool>> paths;
  if (!stampable(plan) || !watched_paths(plan, options, paths)) return nullptr;
  Times times;
  for (const auto& [path, follow] : paths) add_times(times, path, follow);
  if (!times.subsecond) return nullptr;
  constexpr long long kSettleNs = 50'000'000LL;
  if (const long long age = now_ns() - times.newest_ns; age < kSettleNs)
    ::usleep(static_cast<useconds_t>((kSettleNs - std::max(age, 0LL)) / 1000 + 1000));
  nlohmann::json contents = nlohmann::json::array();
  contents.push_back(content_of(plan.files.lock));
  const fs::path pyproject =
      plan.files.pyproject.empty() ? plan.files.lock.parent_path() / "pyproject.toml" : plan.files.pyproject;
  contents.push_back(content_of(pyproject));
  if (!options.build_constraints.empty())
    contents.push_back(content_of(fs::absolute(options.build_constraints)));
  return {{"contents", std::move(contents)},
          {"stats", stats_of(paths)},
          {"lock_files", {plan.files.lock.string(), plan.files.pyproject.string()}}};
}

std::optional<nlohmann::json> read_stamp(const StampFile& stamp) {
  auto text = util::read_file(stamp.path);
  if (!text) return std::nullopt;
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (!doc.is_object() || doc.value("format", 0) != kStampFormat ||
      doc.value("key", std::string()) != stamp.key)
    return std::nullopt;
  const auto& state = doc["state"];
  if (!state.is_object() || !state["stats"].is_array() || !state["contents"].is_array()) return std::nullopt;
  for (const auto& entry : state["stats"]) {
    if (!entry.is_array() || entry.size() != 3) return std::nullopt;
    if (stat_line(entry[0].get<std::string>(), entry[1].get<bool>()) != entry[2].get<std::string>())
      return std::nullopt;
  }
  // The lock a directory argument names is found again (one listing): a lock added beside it
  // changes which one that is, or makes it ambiguous.
  auto files = lock::find_lock(stamp.lock_argument);
  if (!files || nlohmann::json{files->lock.string(), files->pyproject.string()} != state["lock_files"])
    return std::nullopt;
  for (const auto& entry : state["contents"])
    if (!content_holds(entry)) return std::nullopt;
  if (!doc["report"].is_object()) return std::nullopt;
  return std::move(doc["report"]);
}

bool write_stamp(const StampFile& stamp, const Plan& plan, const InstallOptions& options,
                 const nlohmann::json& before, const nlohmann::json& noop_report) {
  if (before.is_null()) return false;
  nlohmann::json after = stamp_state(plan, options);
  if (after != before) return false;
  nlohmann::json doc = {
      {"format", kStampFormat}, {"key", stamp.key}, {"state", after}, {"report", noop_report}};
  std::error_code ec;
  fs::create_directories(stamp.path.parent_path(), ec);
  return util::write_file_atomic(stamp.path, doc.dump(), util::Durability::process_crash).has_value();
}

}  // namespace strata::plan
