#include "build/source.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "fetch/hash.hpp"
#include "lock/toml_read.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "wheel/unpack.hpp"

namespace strata::build {
namespace fs = std::filesystem;
namespace {

// Not part of a directory source: VCS metadata, bytecode and tool caches, virtual environments.
constexpr std::array<std::string_view, 11> kIgnoredDirs = {
    ".git", ".hg",   ".svn",        ".bzr",          "__pycache__", ".tox",
    ".nox", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"};

bool ignored(const fs::path& name) {
  return std::find(kIgnoredDirs.begin(), kIgnoredDirs.end(), name.string()) != kIgnoredDirs.end();
}

struct TreeEntry {
  std::string path;  ///< relative, '/'-separated
  fs::file_type type;
  bool executable = false;
};

// Every file, link and directory under `dir` but the ignored directories, sorted by path.
Result<std::vector<TreeEntry>> list_tree(const fs::path& dir) {
  std::vector<TreeEntry> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    auto status = it->symlink_status(ec);
    if (ec) break;
    if (status.type() == fs::file_type::directory && ignored(p.filename())) {
      it.disable_recursion_pending();
      continue;
    }
    if (status.type() != fs::file_type::directory && status.type() != fs::file_type::regular &&
        status.type() != fs::file_type::symlink)
      continue;  // sockets, fifos: not source
    out.push_back({p.lexically_relative(dir).generic_string(), status.type(),
                   (status.permissions() & fs::perms::owner_exec) != fs::perms::none});
  }
  if (ec) return fail(ErrorKind::runtime, fmt::format("{}: cannot read: {}", dir.string(), ec.message()));
  std::sort(out.begin(), out.end(), [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  return out;
}

Result<void> copy_tree(const fs::path& from, const fs::path& to, const std::vector<TreeEntry>& entries) {
  std::error_code ec;
  for (const auto& e : entries) {
    const fs::path src = from / e.path, dst = to / e.path;
    if (e.type == fs::file_type::directory) {
      fs::create_directories(dst, ec);
    } else if (e.type == fs::file_type::symlink) {
      fs::create_directories(dst.parent_path(), ec);
      if (!ec) fs::copy_symlink(src, dst, ec);
    } else {
      fs::create_directories(dst.parent_path(), ec);
      if (!ec) fs::copy_file(src, dst, ec);
    }
    if (ec)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: cannot copy to {}: {}", src.string(), dst.string(), ec.message()));
  }
  return {};
}

Result<std::string> hash_entries(const fs::path& dir, const std::vector<TreeEntry>& entries) {
  fetch::Sha256 all;
  for (const auto& e : entries) {
    std::string line;
    if (e.type == fs::file_type::directory) {
      line = fmt::format("d {}\n", e.path);
    } else if (e.type == fs::file_type::symlink) {
      std::error_code ec;
      auto target = fs::read_symlink(dir / e.path, ec);
      if (ec)
        return fail(ErrorKind::runtime,
                    fmt::format("{}: cannot read link: {}", (dir / e.path).string(), ec.message()));
      line = fmt::format("l {} {}\n", e.path, target.string());
    } else {
      auto sha = fetch::sha256_file(dir / e.path);
      if (!sha) return std::unexpected(sha.error());
      line = fmt::format("{} {} {}\n", e.executable ? 'x' : 'f', e.path, *sha);
    }
    all.update(line);
  }
  return all.hex_digest();
}

void remove_dir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace

Result<fs::path> make_temp_dir(const fs::path& parent) {
  std::random_device rd;
  const fs::path tmp = parent / fmt::format(".tmp-{}-{:08x}", ::getpid(), rd());
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) return fail(ErrorKind::runtime, fmt::format("{}: cannot create: {}", tmp.string(), ec.message()));
  return tmp;
}

Result<void> publish_dir(const fs::path& tmp, const fs::path& dir) {
  if (::rename(tmp.c_str(), dir.c_str()) == 0) return {};
  int e = errno;
  remove_dir(tmp);
  std::error_code ec;
  if ((e == EEXIST || e == ENOTEMPTY) && fs::is_directory(dir, ec)) return {};
  return fail(ErrorKind::runtime,
              fmt::format("{}: cannot move into place: {}", dir.string(), std::strerror(e)));
}

Result<fs::path> project_dir(const fs::path& base, std::string_view subdirectory, std::string_view what) {
  fs::path dir = base;
  if (!subdirectory.empty()) {
    std::string normalized;
    if (auto why = wheel::check_member_path(subdirectory, normalized))
      return fail(ErrorKind::usage, fmt::format("{}: subdirectory \"{}\": {}", what, subdirectory, *why));
    dir /= normalized;
  }
  std::error_code ec;
  if (!fs::is_regular_file(dir / "pyproject.toml", ec) && !fs::is_regular_file(dir / "setup.py", ec))
    return fail(ErrorKind::runtime, fmt::format("{}: no pyproject.toml or setup.py in {}{}", what,
                                                subdirectory.empty() ? std::string("its root")
                                                                     : fmt::format("\"{}\"", subdirectory),
                                                subdirectory.empty() ? "" : " (the locked subdirectory)"));
  return dir;
}

Result<std::string> static_version(const fs::path& tree) {
  const fs::path file = tree / "pyproject.toml";
  auto text = util::read_file(file);
  if (!text) return std::unexpected(text.error());
  auto doc = lock::detail::parse_toml(*text, file.string());
  if (!doc) return std::unexpected(doc.error());
  if (auto version = (*doc)["project"]["version"].value<std::string>()) return *version;
  if (auto version = (*doc)["tool"]["poetry"]["version"].value<std::string>()) return *version;
  return fail(ErrorKind::check,
              fmt::format("{}: no static version ([project] version or [tool.poetry] version), and the lock "
                          "pins none",
                          file.string()));
}

Result<SourceTree> archive_source(const fs::path& archive, std::string_view sha256_hex,
                                  std::string_view subdirectory, const fs::path& cache_root,
                                  const wheel::ArchiveLimits& limits) {
  if (!fetch::is_sha256_hex(sha256_hex))
    return fail(ErrorKind::usage, fmt::format("{}: invalid sha256 \"{}\"", archive.string(), sha256_hex));
  const fs::path parent = cache_root / "sources" / "archive";
  const fs::path dir = parent / std::string(sha256_hex);
  std::error_code ec;
  if (!fs::is_directory(dir / "root", ec)) {
    auto tmp = make_temp_dir(parent);
    if (!tmp) return std::unexpected(tmp.error());
    auto newest = wheel::extract_source_archive(archive, *tmp / "root", limits);
    if (!newest) {
      remove_dir(*tmp);
      return std::unexpected(newest.error());
    }
    if (auto ok =
            util::write_file_atomic(*tmp / "epoch", std::to_string(*newest), util::Durability::process_crash);
        !ok) {
      remove_dir(*tmp);
      return std::unexpected(ok.error());
    }
    if (auto ok = publish_dir(*tmp, dir); !ok) return std::unexpected(ok.error());
  }
  std::optional<std::int64_t> epoch;
  if (auto text = util::read_file(dir / "epoch")) {
    if (auto value = util::parse_uint(util::trim(*text)); value && *value > 0)
      epoch = static_cast<std::int64_t>(*value);
  }
  // An sdist is "<name>-<version>/…": its one top directory is the project.
  fs::path root = dir / "root";
  std::vector<fs::path> top;
  for (const auto& e : fs::directory_iterator(root, ec)) top.push_back(e.path());
  if (top.size() == 1 && fs::is_directory(top.front(), ec) && !fs::is_symlink(top.front(), ec))
    root = top.front();
  auto project = project_dir(root, subdirectory, archive.filename().string());
  if (!project) return std::unexpected(project.error());
  return SourceTree{*project, fmt::format("sha256:{}", sha256_hex), epoch};
}

Result<std::string> hash_tree(const fs::path& dir) {
  auto entries = list_tree(dir);
  if (!entries) return std::unexpected(entries.error());
  return hash_entries(dir, *entries);
}

Result<std::string> editable_key(const fs::path& tree) {
  fetch::Sha256 h;
  h.update("strata-editable-1\n");
  h.update(tree.lexically_normal().string());
  for (const char* name : {"pyproject.toml", "setup.cfg", "setup.py"}) {
    std::error_code ec;
    if (!fs::exists(tree / name, ec)) continue;
    auto text = util::read_file(tree / name);
    if (!text) return std::unexpected(text.error());
    h.update(fmt::format("\n{} {}\n", name, text->size()));
    h.update(*text);
  }
  return "editable:" + h.hex_digest();
}

Result<SourceTree> directory_source(const fs::path& dir, std::string_view subdirectory,
                                    const fs::path& cache_root, bool copy) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return fail(ErrorKind::runtime, fmt::format("{}: the locked directory does not exist", dir.string()));
  auto project = project_dir(dir, subdirectory, dir.string());
  if (!project) return std::unexpected(project.error());
  auto entries = list_tree(*project);
  if (!entries) return std::unexpected(entries.error());
  auto hash = hash_entries(*project, *entries);
  if (!hash) return std::unexpected(hash.error());
  SourceTree out{*project, fmt::format("dir:{}", *hash), std::nullopt};
  if (!copy) return out;
  const fs::path parent = cache_root / "sources" / "dir";
  const fs::path target = parent / *hash;
  if (!fs::is_directory(target, ec)) {
    auto tmp = make_temp_dir(parent);
    if (!tmp) return std::unexpected(tmp.error());
    if (auto ok = copy_tree(*project, *tmp, *entries); !ok) {
      remove_dir(*tmp);
      return std::unexpected(ok.error());
    }
    if (auto ok = publish_dir(*tmp, target); !ok) return std::unexpected(ok.error());
  }
  out.tree = target;
  return out;
}

}  // namespace strata::build
