#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

namespace strata::util {

Result<std::string> read_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  std::string content;
  char buf[65536];
  while (true) {
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int e = errno;
      ::close(fd);
      return fail(ErrorKind::runtime, fmt::format("{}: cannot read: {}", path.string(), std::strerror(e)));
    }
    if (got == 0) break;
    content.append(buf, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return content;
}

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                               Durability durability) {
  std::random_device rd;
  auto tmp = path;
  tmp += fmt::format(".tmp.{}.{:x}", ::getpid(), rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot create: {}", tmp.string(), std::strerror(errno)));
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t put = ::write(fd, content.data() + done, content.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(ErrorKind::runtime, fmt::format("{}: cannot write: {}", tmp.string(), std::strerror(e)));
    }
    done += static_cast<std::size_t>(put);
  }
  if ((durability == Durability::power_loss && ::fsync(fd) != 0) || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorKind::runtime, fmt::format("{}: cannot write: {}", tmp.string(), std::strerror(e)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot rename into place: {}", path.string(), std::strerror(e)));
  }
  return {};
}

Result<void> DirMaker::ensure(const std::filesystem::path& dir) {
  if (dir.empty() || known_.contains(dir.native())) return {};
  if (::mkdir(dir.c_str(), 0777) != 0) {
    int e = errno;
    if (e == ENOENT) {
      if (auto ok = ensure(dir.parent_path()); !ok) return ok;
      if (::mkdir(dir.c_str(), 0777) != 0)
        e = errno;
      else
        e = 0;
    }
    if (e == EEXIST) {
      std::error_code ec;
      if (!std::filesystem::is_directory(dir, ec))
        return fail(ErrorKind::runtime,
                    fmt::format("{}: cannot create directory: a file is in the way", dir.string()));
    } else if (e != 0) {
      return fail(ErrorKind::runtime,
                  fmt::format("{}: cannot create directory: {}", dir.string(), std::strerror(e)));
    }
  }
  known_.insert(dir.native());
  return {};
}

Result<TempDir> TempDir::create(const std::filesystem::path& parent, std::string_view prefix) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot create: {}", parent.string(), ec.message()));
  std::random_device rd;
  for (int tries = 0; tries < 8; ++tries) {
    fs::path path = parent / fmt::format("{}{}-{:08x}", prefix, ::getpid(), rd());
    if (::mkdir(path.c_str(), 0755) != 0) {
      if (errno == EEXIST) continue;
      return fail(ErrorKind::runtime,
                  fmt::format("{}: cannot create: {}", path.string(), std::strerror(errno)));
    }
    // O_CLOEXEC: children (bytecode compilers) must not inherit, or they would keep it alive.
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      if (fd >= 0) ::close(fd);
      ::rmdir(path.c_str());
      return fail(ErrorKind::runtime, fmt::format("{}: cannot lock: {}", path.string(), std::strerror(e)));
    }
    return TempDir(fd, std::move(path));
  }
  return fail(ErrorKind::runtime, fmt::format("{}: cannot create a temporary directory", parent.string()));
}

TempDir::~TempDir() {
  if (fd_ >= 0) ::close(fd_);
}

TempDir::TempDir(TempDir&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

namespace {

// Runs `body` while holding the lock of directory `dir`, unless a live TempDir holds it; false then.
template <class F>
bool with_dir_lock(const std::filesystem::path& dir, F&& body) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  bool locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  if (locked) body();
  ::close(fd);
  return locked;
}

}  // namespace

bool temp_dir_in_use(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

void remove_tree(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(path, ec))) {
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code e;
      if (it->is_directory(e) && !it->is_symlink(e))
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, e);
    }
  }
  fs::remove_all(path, ec);
}

std::size_t remove_stale_temp_dirs(const std::filesystem::path& dir, std::string_view prefix,
                                   std::chrono::seconds min_age) {
  namespace fs = std::filesystem;
  std::size_t removed = 0;
  std::error_code ec;
  const auto cutoff = fs::file_time_type::clock::now() - min_age;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::error_code e;
    if (!entry.path().filename().string().starts_with(prefix) || !entry.is_directory(e) ||
        entry.is_symlink(e))
      continue;
    if (auto mtime = entry.last_write_time(e); e || mtime > cutoff) continue;
    if (with_dir_lock(entry.path(), [&] { remove_tree(entry.path()); })) ++removed;
  }
  return removed;
}

}  // namespace strata::util
