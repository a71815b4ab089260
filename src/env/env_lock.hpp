#pragma once
// One writer per environment: an exclusive flock(2) on `<env>/.strata/lock`. The kernel drops the
// lock when the holder exits in any way (kill -9 included), so a stale lock cannot exist.

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
  /// "waiting for another strata process (pid 123) holding /venv/.strata/lock".
  std::function<void(std::string_view)> on_wait;
  /// How often a waiter retries.
  std::chrono::milliseconds poll_interval{50};
};

/// A held environment lock; released by the destructor (or by the process ending).
/// The lock belongs to the open file, so a second EnvLock on the same environment inside the
/// same process waits like another process would.
class EnvLock {
 public:
  /// `<env>/.strata/lock`.
  static std::filesystem::path file_for(const std::filesystem::path& env_dir);
  /// Takes the lock of `env_dir`, creating `<env>/.strata/` when needed. On timeout the error
  /// (kind runtime) names the lock file and the holder's pid.
  static Result<EnvLock> acquire(const std::filesystem::path& env_dir, const EnvLockOptions& options);

  ~EnvLock();
  EnvLock(EnvLock&& other) noexcept;
  EnvLock& operator=(EnvLock&& other) noexcept;
  EnvLock(const EnvLock&) = delete;
  EnvLock& operator=(const EnvLock&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  EnvLock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  void release() noexcept;

  int fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace strata::env
