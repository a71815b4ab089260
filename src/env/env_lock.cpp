#include "env/env_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "util/interrupt.hpp"
#include "util/strings.hpp"

namespace strata::env {
namespace fs = std::filesystem;

namespace {

// The pid of the process holding a flock on the file open as `fd`, from /proc/locks
// ("1: FLOCK  ADVISORY  WRITE 123 fe:00:4711 0 EOF": pid, device major:minor in hex, inode), or
// "unknown".
std::string holder_pid(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "unknown";
  const std::string device = fmt::format("{:02x}:{:02x}:{}", major(st.st_dev), minor(st.st_dev), st.st_ino);
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string id, kind, mode, access, pid, where;
    if (!(fields >> id >> kind >> mode >> access >> pid >> where)) continue;
    if (id == "->") continue;  // a waiter, listed under the holder
    if (kind == "FLOCK" && where == device && util::parse_uint(pid)) return pid;
  }
  return "unknown";
}

// Takes the lock without blocking: true when taken, false when someone else holds it.
Result<bool> try_lock(int fd, const fs::path& path) {
  while (true) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return false;
    return fail(ErrorKind::runtime, fmt::format("{}: cannot lock: {}", path.string(), std::strerror(errno)));
  }
}

}  // namespace

Result<EnvLock> EnvLock::acquire(const fs::path& env_dir, const EnvLockOptions& options) {
  const fs::path path = env_dir;
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot create directory: {}", path.string(), ec.message()));
  // O_CLOEXEC: children (bytecode compilers) must not inherit, or they would keep the lock alive.
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  auto give_up = [fd](Error error) {
    ::close(fd);
    return std::unexpected(std::move(error));
  };

  auto taken = try_lock(fd, path);
  if (!taken) return give_up(taken.error());
  if (!*taken) {
    auto start = std::chrono::steady_clock::now();
    bool announced = false;
    while (true) {
      auto waited = std::chrono::steady_clock::now() - start;
      if (options.timeout && waited >= *options.timeout) {
        return give_up(Error{
            ErrorKind::runtime,
            fmt::format(
                "{}: another strata process (pid {}) still holds this environment's lock after {:.1f}s; "
                "wait for it to finish, or stop it if it is stuck",
                path.string(), holder_pid(fd), static_cast<double>(options.timeout->count()) / 1000.0)});
      }
      if (!announced) {
        announced = true;
        if (options.on_wait)
          options.on_wait(fmt::format("waiting for another strata process (pid {}) holding the lock of {}",
                                      holder_pid(fd), path.string()));
      }
      auto pause = options.poll_interval;
      if (options.timeout) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*options.timeout - waited);
        if (left < pause) pause = left;
      }
      std::this_thread::sleep_for(pause);
      if (util::interrupted())
        return give_up(Error{ErrorKind::runtime, fmt::format("{}: {} while waiting for the lock",
                                                             path.string(), util::interrupt_message())});
      taken = try_lock(fd, path);
      if (!taken) return give_up(taken.error());
      if (*taken) break;
    }
  }
  // A failed install removes the new environment it made while holding the lock: a waiter then
  // holds the lock of a directory no longer at `path`. Lock the directory that is there.
  struct stat held {
  }, named{};
  if (::fstat(fd, &held) != 0 || ::stat(path.c_str(), &named) != 0 || held.st_dev != named.st_dev ||
      held.st_ino != named.st_ino) {
    ::close(fd);
    return acquire(env_dir, options);
  }
  return EnvLock(fd, path);
}

void EnvLock::release() noexcept {
  if (fd_ < 0) return;
  ::close(fd_);  // closing the only descriptor drops the flock
  fd_ = -1;
}

EnvLock::~EnvLock() { release(); }

EnvLock::EnvLock(EnvLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }

EnvLock& EnvLock::operator=(EnvLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

}  // namespace strata::env
