#include "env/env_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "util/strings.hpp"

namespace strata::env {
namespace fs = std::filesystem;

namespace {

// The pid the holder wrote into the lock file, or "unknown" while it has not written it yet.
std::string holder_pid(int fd) {
  char buf[32];
  ssize_t got = ::pread(fd, buf, sizeof buf - 1, 0);
  if (got <= 0) return "unknown";
  std::string_view text = util::trim(std::string_view(buf, static_cast<std::size_t>(got)));
  if (!util::parse_uint(text)) return "unknown";
  return std::string(text);
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

fs::path EnvLock::file_for(const fs::path& env_dir) { return env_dir / ".strata" / "lock"; }

Result<EnvLock> EnvLock::acquire(const fs::path& env_dir, const EnvLockOptions& options) {
  fs::path path = file_for(env_dir);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot create directory: {}", path.parent_path().string(), ec.message()));
  // O_CLOEXEC: children (bytecode compilers) must not inherit, or they would keep the lock alive.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(ErrorKind::runtime, fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  // Until the lock is ours, failures close the descriptor without touching the holder's file.
  auto give_up = [fd](Error error) {
    ::close(fd);
    return std::unexpected(std::move(error));
  };

  auto taken = try_lock(fd, path);
  if (!taken) return give_up(taken.error());
  if (!*taken) {
    auto start = std::chrono::steady_clock::now();
    bool announced = false;
    int polls = 0;
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
      // The holder writes its pid just after locking; give it a few polls before saying "unknown".
      std::string pid = holder_pid(fd);
      if (!announced && (pid != "unknown" || polls >= 10)) {
        announced = true;
        if (options.on_wait)
          options.on_wait(
              fmt::format("waiting for another strata process (pid {}) holding {}", pid, path.string()));
      }
      auto pause = options.poll_interval;
      if (options.timeout) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*options.timeout - waited);
        if (left < pause) pause = left;
      }
      std::this_thread::sleep_for(pause);
      ++polls;
      taken = try_lock(fd, path);
      if (!taken) return give_up(taken.error());
      if (*taken) break;
    }
  }
  // Record our pid for waiters. Best effort: a failure here only makes messages say "unknown".
  std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t written = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return EnvLock(fd, path);
}

void EnvLock::release() noexcept {
  if (fd_ < 0) return;
  // Leave the file empty, so that it does not differ between otherwise identical installs.
  [[maybe_unused]] int truncated = ::ftruncate(fd_, 0);
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
