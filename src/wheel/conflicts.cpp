#include "wheel/conflicts.hpp"

#include <sys/stat.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "env/venv.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "wheel/record.hpp"

namespace strata::wheel {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kConflictsInMessage = 10;

bool is_within(const fs::path& path, const fs::path& root) {
  auto rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != ".." && *rel.begin() != ".";
}

// Paths with their directories' symbolic links resolved (lib64 -> lib), so that two spellings of
// one file compare equal. One lstat per directory: its parent is resolved first.
class Resolver {
 public:
  /// `path` (absolute, lexically normal) with its parent directory resolved.
  fs::path file(const fs::path& path) { return dir(path.parent_path()).path / path.filename(); }
  /// Whether the parent directory of `path` exists (else neither does `path`).
  bool parent_exists(const fs::path& path) { return dir(path.parent_path()).exists; }
  /// The existing file (not a directory) where a directory of `path` would have to be, if any.
  std::optional<fs::path> blocked(const fs::path& path) {
    const Dir& d = dir(path.parent_path());
    return d.blocked.empty() ? std::nullopt : std::optional(d.blocked);
  }
  /// `path` itself resolved.
  fs::path directory(const fs::path& path) {
    return dir(path.has_filename() ? path : path.parent_path()).path;
  }

 private:
  struct Dir {
    fs::path path;
    bool exists = false;
    fs::path blocked;  ///< as in blocked()
  };
  const Dir& dir(const fs::path& d) {
    if (auto it = dirs_.find(d); it != dirs_.end()) return it->second;
    Dir out{d, true, {}};
    if (d.has_relative_path()) {
      const Dir& up = dir(d.parent_path());
      out.path = up.path / d.filename();
      out.blocked = up.blocked;
      struct stat st {};
      out.exists = up.exists && ::lstat(out.path.c_str(), &st) == 0;
      bool directory = out.exists && S_ISDIR(st.st_mode);
      if (out.exists && S_ISLNK(st.st_mode)) {
        std::error_code ec;
        fs::path real = fs::canonical(out.path, ec);
        if (ec) {
          out.exists = false;
        } else {
          out.path = std::move(real);
          directory = fs::is_directory(out.path, ec);
        }
      }
      if (out.exists && !directory) {
        out.blocked = d;
        out.exists = false;
      }
    }
    return dirs_.emplace(d, std::move(out)).first->second;
  }
  std::map<fs::path, Dir> dirs_;
};

// The installed distribution listing each file (its RECORD; installed-files.txt for egg-info),
// read on first use: a fresh environment needs none of it.
class Owners {
 public:
  Owners(const env::InstalledSet& installed, Resolver& resolver)
      : installed_(installed), resolver_(resolver) {}

  /// The distribution that lists `path`, or nullptr (unmanaged, or its RECORD is unreadable).
  const env::InstalledDistribution* of(const fs::path& path) {
    if (!loaded_) load();
    auto it = files_.find(resolver_.file(path));
    return it == files_.end() ? nullptr : it->second;
  }

 private:
  void load() {
    loaded_ = true;
    for (const auto* list : {&installed_.distributions, &installed_.shadowed})
      for (const auto& d : *list) add(d);
  }
  void add(const env::InstalledDistribution& d) {
    auto claim = [&](const fs::path& p) { files_.emplace(resolver_.file(p.lexically_normal()), &d); };
    claim(d.path);
    if (d.format == env::MetadataFormat::dist_info) {
      auto rows = env::read_record(d);
      if (!rows) return;
      for (const auto& row : *rows) claim(d.path.parent_path() / row.path);
      return;
    }
    auto text = util::read_file(d.path / "installed-files.txt");
    if (!text) return;
    for (auto line : util::split(*text, '\n'))
      if (auto rel = util::trim(line); !rel.empty()) claim(d.path / std::string(rel));
  }

  const env::InstalledSet& installed_;
  Resolver& resolver_;
  std::map<fs::path, const env::InstalledDistribution*> files_;
  bool loaded_ = false;
};

std::string content_hash(const fs::path& path) {
  auto content = util::read_file(path);
  if (!content) return {};
  Hasher h;
  h.update(*content);
  return h.finish();
}

bool same_dist_info(const fs::path& a, const fs::path& b) {
  if (a.lexically_normal() == b.lexically_normal()) return true;
  std::error_code ec;
  return fs::equivalent(a, b, ec);
}

// The source a pyc in `__pycache__` is compiled from: dir/__pycache__/name.tag.pyc -> dir/name.py.
std::optional<fs::path> pyc_source(const fs::path& path) {
  if (path.extension() != ".pyc" || path.parent_path().filename() != "__pycache__") return std::nullopt;
  const std::string name = path.filename().string();
  return path.parent_path().parent_path() / (name.substr(0, name.find('.')) + ".py");
}

std::string owner_label(const env::InstalledDistribution* owner) {
  if (owner)
    return fmt::format("{} {}", owner->display_name.empty() ? owner->name : owner->display_name,
                       owner->version);
  return "unmanaged";
}

}  // namespace

Result<void> check_conflicts(std::span<const PreparedWheel> wheels, const env::InstalledSet& installed) {
  Resolver resolver;
  Owners owners(installed, resolver);
  std::vector<std::string> conflicts;
  struct Claim {
    std::size_t wheel;
    std::string hash;
  };
  std::map<fs::path, Claim> claims;  // resolved destination -> the first wheel writing it
  std::map<std::string, std::size_t> projects;
  for (std::size_t i = 0; i < wheels.size(); ++i) {
    const PreparedWheel& wheel = wheels[i];
    const InstallTarget& target = wheel.target();
    const std::string& name = wheel.wheel_name();
    const std::vector<fs::path> libs = {resolver.directory(target.scheme.purelib),
                                        resolver.directory(target.scheme.platlib)};

    // One distribution per project.
    if (auto [it, fresh] = projects.emplace(wheel.project(), i); !fresh)
      conflicts.push_back(fmt::format("{}: {} is also installed by {} in this install", name, wheel.project(),
                                      wheels[it->second].wheel_name()));
    for (const auto* list : {&installed.distributions, &installed.shadowed})
      for (const auto& d : *list) {
        if (d.name != wheel.project()) continue;
        const fs::path site = resolver.directory(d.site_dir.lexically_normal());
        if (site != libs[0] && site != libs[1]) continue;
        if (target.replacing && same_dist_info(d.path, *target.replacing)) continue;
        conflicts.push_back(
            fmt::format("{}: {} is already installed ({}) and is not the distribution being replaced", name,
                        wheel.project(), d.path.string()));
      }

    const auto destinations = wheel.destinations();
    std::set<fs::path> own;
    for (const auto& [dest, hash] : destinations) own.insert(dest);
    for (std::size_t k = 0; k < destinations.size(); ++k) {
      const auto& [dest, hash] = destinations[k];
      const bool dist_info = k + 1 == destinations.size();
      // The bytecode of a source this wheel writes goes wherever its source may go.
      if (auto source = pyc_source(dest); source && own.contains(*source)) continue;
      const fs::path real = resolver.file(dest);
      if (!dist_info) {
        bool planted = false;
        for (const auto& lib : libs) {
          if (!is_within(real, lib)) continue;
          const std::string top = real.lexically_relative(lib).begin()->string();
          if (!top.ends_with(".dist-info") && !top.ends_with(".egg-info")) continue;
          conflicts.push_back(
              fmt::format("{}: would write {} inside the metadata directory {}", name, dest.string(), top));
          planted = true;
          break;
        }
        if (planted) continue;
      }
      const bool init = dest.filename() == "__init__.py";
      if (auto [it, fresh] = claims.emplace(real, Claim{i, hash}); !fresh) {
        if (!init || it->second.hash != hash)
          conflicts.push_back(fmt::format("{}: would overwrite {} (also written by {} in this install)", name,
                                          dest.string(), wheels[it->second.wheel].wheel_name()));
        continue;  // what is there already was checked for the first writer
      }
      if (auto file = resolver.blocked(dest)) {
        conflicts.push_back(fmt::format(
            "{}: cannot install {}: {} is not a directory (owner: {})", name, dest.string(), file->string(),
            env::is_venv_file(target.scheme.data, *file) ? std::string("the environment (venv)")
                                                         : owner_label(owners.of(*file))));
        continue;
      }
      if (!resolver.parent_exists(dest)) continue;
      struct stat st {};
      if (::lstat(real.c_str(), &st) != 0) continue;
      // The venv's own files are never a distribution's, whatever a RECORD claims.
      if (env::is_venv_file(target.scheme.data, dest)) {
        conflicts.push_back(
            fmt::format("{}: would overwrite {} (owner: the environment (venv))", name, dest.string()));
        continue;
      }
      const env::InstalledDistribution* owner = owners.of(dest);
      if (owner && target.replacing && same_dist_info(owner->path, *target.replacing)) continue;
      if (S_ISDIR(st.st_mode) && !dist_info) {
        conflicts.push_back(fmt::format("{}: cannot install {}: a directory is in the way (owner: {})", name,
                                        dest.string(), owner_label(owner)));
        continue;
      }
      // Namespace packages: several distributions ship the same __init__.py.
      if (init && S_ISREG(st.st_mode) && content_hash(real) == hash) continue;
      conflicts.push_back(
          fmt::format("{}: would overwrite {} (owner: {})", name, dest.string(), owner_label(owner)));
    }
  }
  if (conflicts.empty()) return {};
  const std::size_t more =
      conflicts.size() > kConflictsInMessage ? conflicts.size() - kConflictsInMessage : 0;
  conflicts.resize(conflicts.size() - more);
  std::string message = util::join(conflicts, "; ");
  if (more) message += fmt::format("; and {} more", more);
  return fail(ErrorKind::runtime, fmt::format("{}; nothing was installed", message));
}

}  // namespace strata::wheel
