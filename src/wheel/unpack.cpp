#include "wheel/unpack.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/fs.hpp"
#include "util/interrupt.hpp"
#include "wheel/record.hpp"

namespace strata::wheel {
namespace fs = std::filesystem;
namespace {

constexpr int kManifestFormat = 2;

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

Result<UnpackedWheel> load_manifest(const fs::path& dir) {
  auto text = util::read_file(dir / "manifest.json");
  if (!text) return std::unexpected(text.error());
  try {
    auto doc = nlohmann::json::parse(*text);
    if (doc.at("format").get<int>() != kManifestFormat) throw std::runtime_error("unknown format");
    UnpackedWheel out{dir, dir / "tree", {}};
    for (const auto& e : doc.at("entries"))
      out.entries.push_back({e.at("path").get<std::string>(), e.at("hash").get<std::string>(),
                             e.at("size").get<std::uint64_t>(), e.at("executable").get<bool>(),
                             e.at("mtime_ns").get<std::int64_t>()});
    return out;
  } catch (const std::exception& e) {
    return fail(ErrorKind::runtime,
                fmt::format("{}: unreadable unpacked-wheel manifest: {}", dir.string(), e.what()));
  }
}

/// Extracts every file of `archive` under `tree`; `writable` gives 0644/0755 files instead of the
/// read-only ones the unpack cache shares through links.
Result<void> extract(const fs::path& archive, const fs::path& tree, const ArchiveLimits& limits,
                     ArchiveFormat format, bool writable, std::vector<UnpackedEntry>& entries,
                     std::int64_t* newest = nullptr) {
  auto reader = ArchiveReader::open(archive, limits, format);
  if (!reader) return std::unexpected(reader.error());
  util::DirMaker dirs;
  while (true) {
    if (auto go_on = util::check_interrupted(); !go_on) return go_on;
    auto entry = reader->next();
    if (!entry) return std::unexpected(entry.error());
    if (!*entry) return {};
    if (newest != nullptr) *newest = std::max(*newest, (*entry)->mtime);
    if ((*entry)->directory) {
      if (writable)
        if (auto ok = dirs.ensure(tree / (*entry)->path); !ok) return ok;
      continue;
    }
    const fs::path dest = tree / (*entry)->path;
    if (auto ok = dirs.ensure(dest.parent_path()); !ok) return ok;
    // Cached files are shared by every environment linked to them: never writable through a link.
    // (A new file is writable through the descriptor that created it, whatever its mode.)
    const mode_t mode = (*entry)->executable ? (writable ? 0755 : 0555) : (writable ? 0644 : 0444);
    int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: cannot create: {}", dest.string(), std::strerror(errno)));
    Hasher hasher;
    UnpackedEntry u{(*entry)->path, {}, 0, (*entry)->executable, 0};
    auto ok = reader->read([&](std::string_view chunk) -> Result<void> {
      hasher.update(chunk);
      u.size += chunk.size();
      while (!chunk.empty()) {
        ssize_t put = ::write(fd, chunk.data(), chunk.size());
        if (put < 0 && errno == EINTR) continue;
        if (put < 0)
          return fail(ErrorKind::runtime,
                      fmt::format("{}: cannot write: {}", dest.string(), std::strerror(errno)));
        chunk.remove_prefix(static_cast<std::size_t>(put));
      }
      return {};
    });
    struct stat st {};
    const bool stat_ok = ok && ::fstat(fd, &st) == 0;
    ::close(fd);
    if (!ok) return ok;
    if (!stat_ok)
      return fail(ErrorKind::runtime,
                  fmt::format("{}: cannot stat: {}", dest.string(), std::strerror(errno)));
    u.mtime_ns = mtime_ns(st);
    u.hash = hasher.finish();
    entries.push_back(std::move(u));
  }
}

}  // namespace

Result<void> check_seal(const UnpackedWheel& unpacked) {
  for (const auto& e : unpacked.entries) {
    const fs::path path = unpacked.tree / e.path;
    struct stat st {};
    auto broken = [&](std::string_view why) {
      return fail(ErrorKind::runtime, fmt::format("{}: {}", path.string(), why));
    };
    if (::lstat(path.c_str(), &st) != 0) return broken(std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return broken("no longer a regular file");
    if (static_cast<std::uint64_t>(st.st_size) != e.size)
      return broken(fmt::format("{} bytes instead of {}", st.st_size, e.size));
    if ((st.st_mode & 0222) != 0) return broken("made writable");
    if (mtime_ns(st) != e.mtime_ns) return broken("modified after it was unpacked");
  }
  return {};
}

void discard_unpacked(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  // Renamed away first, so no other process starts reading a tree that is being removed.
  std::random_device rd;
  const fs::path broken = dir.parent_path() / fmt::format(".broken-{}-{:08x}", ::getpid(), rd());
  if (::rename(dir.c_str(), broken.c_str()) != 0) return;
  util::remove_tree(broken);
}

std::size_t sweep_unpack_cache(const fs::path& cache_dir) {
  std::size_t removed =
      util::remove_stale_temp_dirs(cache_dir, ".tmp-") + util::remove_stale_temp_dirs(cache_dir, ".broken-");
  // Bytecode being compiled for an entry: <sha>/pyc/.tmp-* (Installer::cached_pycs).
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(cache_dir, ec)) {
    std::error_code e;
    if (entry.path().filename().string().starts_with('.') || !entry.is_directory(e) || entry.is_symlink(e))
      continue;
    const fs::path pyc = entry.path() / "pyc";
    if (!fs::is_directory(pyc, e)) continue;
    removed += util::remove_stale_temp_dirs(pyc, ".tmp-") + util::remove_stale_temp_dirs(pyc, ".broken-");
  }
  return removed;
}

Result<UnpackedWheel> unpack_to_cache(const fs::path& wheel, std::string_view sha256_hex,
                                      const fs::path& cache_dir, const ArchiveLimits& limits) {
  if (sha256_hex.size() != 64 || sha256_hex.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return fail(ErrorKind::usage,
                fmt::format("{}: invalid sha256 \"{}\" for the unpack cache", wheel.string(), sha256_hex));
  const fs::path dir = cache_dir / std::string(sha256_hex);
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    // Torn by a power loss (the manifest is not fsynced), left incomplete, written by an older
    // strata, or a file changed since (edited in the cache, or through a hard link from an
    // environment): unpack again from the verified wheel.
    auto loaded = load_manifest(dir);
    if (loaded && check_seal(*loaded)) return loaded;
    discard_unpacked(dir);
  }

  // Locked while it is filled, so that another process's sweep_unpack_cache leaves it alone.
  auto tmp_dir = util::TempDir::create(cache_dir);
  if (!tmp_dir) return std::unexpected(tmp_dir.error());
  const fs::path tmp = tmp_dir->path();
  std::vector<UnpackedEntry> entries;
  auto remove_tmp = [&] {
    std::error_code e;
    fs::permissions(tmp, fs::perms::owner_all, fs::perm_options::add, e);
    fs::remove_all(tmp, e);
  };
  if (auto ok = extract(wheel, tmp / "tree", limits, ArchiveFormat::zip, false, entries); !ok) {
    remove_tmp();
    return std::unexpected(ok.error());
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : entries)
    list.push_back({{"path", e.path},
                    {"hash", e.hash},
                    {"size", e.size},
                    {"executable", e.executable},
                    {"mtime_ns", e.mtime_ns}});
  std::string manifest;
  try {
    manifest =
        nlohmann::json{{"format", kManifestFormat}, {"wheel", wheel.filename().string()}, {"entries", list}}
            .dump(1);
  } catch (const std::exception&) {
    remove_tmp();
    return fail(ErrorKind::runtime, fmt::format("{}: a member name is not valid UTF-8", wheel.string()));
  }
  if (auto ok = util::write_file_atomic(tmp / "manifest.json", manifest, util::Durability::process_crash);
      !ok) {
    remove_tmp();
    return std::unexpected(ok.error());
  }
  if (::rename(tmp.c_str(), dir.c_str()) != 0) {
    int e = errno;
    remove_tmp();
    // Another process unpacked the same wheel first: use theirs.
    if ((e == EEXIST || e == ENOTEMPTY) && fs::exists(dir / "manifest.json", ec)) return load_manifest(dir);
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot move into place: {}", dir.string(), std::strerror(e)));
  }
  return UnpackedWheel{dir, dir / "tree", std::move(entries)};
}

Result<std::int64_t> extract_source_archive(const fs::path& archive, const fs::path& dest,
                                            const ArchiveLimits& limits) {
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec) return fail(ErrorKind::runtime, fmt::format("{}: cannot create: {}", dest.string(), ec.message()));
  std::vector<UnpackedEntry> entries;
  std::int64_t newest = 0;
  if (auto ok = extract(archive, dest, limits, ArchiveFormat::source, true, entries, &newest); !ok)
    return std::unexpected(ok.error());
  return newest;
}

Result<LinkMode> parse_link_mode(std::string_view text) {
  if (text == "auto") return LinkMode::automatic;
  if (text == "copy") return LinkMode::copy;
  if (text == "hardlink") return LinkMode::hardlink;
  if (text == "reflink") return LinkMode::reflink;
  return fail(ErrorKind::usage,
              fmt::format("invalid link mode \"{}\" (expected auto, copy, hardlink or reflink)", text));
}

std::string_view to_string(LinkMode mode) {
  switch (mode) {
    case LinkMode::automatic:
      return "auto";
    case LinkMode::copy:
      return "copy";
    case LinkMode::hardlink:
      return "hardlink";
    case LinkMode::reflink:
      return "reflink";
  }
  return "?";
}

namespace {

int try_reflink(const fs::path& from, const fs::path& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return errno;
  struct stat st {};
  ::fstat(in, &st);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
  if (out < 0) {
    int e = errno;
    ::close(in);
    return e;
  }
  int rc = ::ioctl(out, FICLONE, in);
  int e = rc == 0 ? 0 : errno;
  ::close(in);
  ::close(out);
  if (e != 0) ::unlink(to.c_str());
  return e;
}

// Copies a file into a new `to` with the default mode (0666 or, when `from` is executable, 0777,
// less the umask): the environment's own writable copy. Returns 0 or an errno value.
int copy_contents(const fs::path& from, const fs::path& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return errno;
  struct stat st {};
  if (::fstat(in, &st) != 0) {
    int e = errno;
    ::close(in);
    return e;
  }
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (st.st_mode & 0111) ? 0777 : 0666);
  if (out < 0) {
    int e = errno;
    ::close(in);
    return e;
  }
  int e = 0;
  auto left = static_cast<std::size_t>(st.st_size);
  while (left > 0) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, left, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL))
      n = ::sendfile(out, in, nullptr, left);
    if (n < 0) {
      e = errno;
      break;
    }
    if (n == 0) break;  // the source shrank: copy what is there
    left -= static_cast<std::size_t>(n);
  }
  if (::close(out) != 0 && e == 0) e = errno;
  ::close(in);
  if (e != 0) ::unlink(to.c_str());
  return e;
}

}  // namespace

Result<LinkMode> link_file(const fs::path& from, const fs::path& to, LinkMode mode) {
  auto failed = [&](std::string_view how, int e) {
    // The link modes a file system cannot do say which mode works instead.
    std::string hint;
    if (how == "hardlink" && e == EXDEV)
      hint = ": cannot hard-link across file systems: use --link-mode copy";
    if (how == "reflink" && (e == EOPNOTSUPP || e == EXDEV || e == EINVAL || e == ENOTTY || e == ENOSYS))
      hint = ": the file system cannot reflink here: use --link-mode copy";
    return fail(ErrorKind::runtime, fmt::format("{}: cannot {} from {}: {}{}", to.string(), how,
                                                from.string(), std::strerror(e), hint));
  };
  if (mode == LinkMode::reflink || mode == LinkMode::automatic) {
    int e = try_reflink(from, to);
    if (e == 0) return LinkMode::reflink;
    if (mode == LinkMode::reflink) return failed("reflink", e);
  }
  if (mode == LinkMode::hardlink || mode == LinkMode::automatic) {
    if (::link(from.c_str(), to.c_str()) == 0) return LinkMode::hardlink;
    int e = errno;
    if (mode == LinkMode::hardlink) return failed("hardlink", e);
  }
  if (int e = copy_contents(from, to); e != 0) return failed("copy", e);
  return LinkMode::copy;
}

}  // namespace strata::wheel
