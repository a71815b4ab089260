#include "util/fs.hpp"

#include <fcntl.h>
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

}  // namespace strata::util
