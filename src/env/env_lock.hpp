#pragma once
// One writer per environment: an exclusive flock(2) on the environment directory itself (an
// O_RDONLY descriptor of it). No lock file, so nothing of the lock ends up in an image layer. The
// kernel drops the lock when the holder exits in any way (kill -9 included), so a stale lock
// cannot exist.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>

#include "util/error.hpp"

namespace strata::env {

struct EnvLockOptions {
  /// How long to wait for another holder; nullopt waits forever, zero fails at once.
  std::optional<std::chrono::milliseconds> timeout;
  /// Called once, when another process holds the lock and we start waiting, with a line such as
  /// "waiting for another strata process (pid 123) holding the lock of /venv".
  std::function<void(std::string_view)> on_wait;
  /// How often a waiter retries.
  std::chrono::milliseconds poll_interval{50};
};

/// A held environment lock; released by the destructor (or by the process ending).
/// The lock belongs to the open file description, so a second EnvLock on the same environment
/// inside the same process waits like another process would.
class EnvLock {
 public:
  /// Takes the lock of `env_dir`, creating the directory when needed (so that two installs into
  /// one new environment serialize). On timeout the error (kind runtime) names the directory and
  /// the holder's pid (from /proc/locks; "unknown" when it cannot be told).
  static Result<EnvLock> acquire(const std::filesystem::path& env_dir, const EnvLockOptions& options);

  ~EnvLock();
  EnvLock(EnvLock&& other) noexcept;
  EnvLock& operator=(EnvLock&& other) noexcept;
  EnvLock(const EnvLock&) = delete;
  EnvLock& operator=(const EnvLock&) = delete;

  /// The locked directory.
  const std::filesystem::path& path() const { return path_; }

 private:
  EnvLock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  void release() noexcept;

  int fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace strata::env
