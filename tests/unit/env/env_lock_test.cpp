#include "env/env_lock.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"

namespace strata::env {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

EnvLockOptions options(std::optional<std::chrono::milliseconds> timeout,
                       std::function<void(std::string_view)> on_wait = {}) {
  EnvLockOptions result;
  result.timeout = timeout;
  result.on_wait = std::move(on_wait);
  return result;
}

// A child process that takes the environment lock, reports 'L' on `ready`, then exits when
// `release` gets a byte or closes (without running destructors: the kernel drops the lock).
class LockHolder {
 public:
  explicit LockHolder(const fs::path& env_dir) {
    int ready[2], release[2];
    if (::pipe(ready) != 0 || ::pipe(release) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::close(ready[0]);
      ::close(release[1]);
      auto lock = EnvLock::acquire(env_dir, {});
      char status = lock ? 'L' : 'E';
      if (::write(ready[1], &status, 1) != 1) ::_exit(3);
      char byte;
      while (::read(release[0], &byte, 1) < 0) {
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    ready_ = ready[0];
    release_ = release[1];
  }
  ~LockHolder() {
    release();
    wait();
    ::close(ready_);
  }
  // Waits until the child holds the lock; false when it failed to take it.
  bool wait_locked() {
    char status = 0;
    return ::read(ready_, &status, 1) == 1 && status == 'L';
  }
  void release() {
    if (release_ >= 0) ::close(release_);
    release_ = -1;
  }
  void kill9() { ::kill(pid_, SIGKILL); }
  void wait() {
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int ready_ = -1;
  int release_ = -1;
};

TEST(EnvLock, LocksTheDirectoryItselfAndLeavesNothingInIt) {
  testing::TempDir tmp;
  {
    auto lock = EnvLock::acquire(tmp.path() / "venv", {});
    ASSERT_TRUE(lock) << lock.error().message;
    EXPECT_EQ(lock->path(), tmp.path() / "venv");
    EXPECT_TRUE(fs::is_directory(lock->path()));
    EXPECT_FALSE(EnvLock::acquire(tmp.path() / "venv", options(0ms)));  // held
  }
  // Released: taking it again succeeds at once; no lock file was ever made (an image layer
  // holds nothing of the lock).
  auto again = EnvLock::acquire(tmp.path() / "venv", options(0ms));
  ASSERT_TRUE(again) << again.error().message;
  again = EnvLock::acquire(tmp.path() / "other", {});  // move-assign releases the first
  ASSERT_TRUE(again);
  EXPECT_TRUE(EnvLock::acquire(tmp.path() / "venv", options(0ms)));
  EXPECT_TRUE(fs::is_empty(tmp.path() / "venv"));
}

TEST(EnvLock, SecondProcessTimesOutNamingTheDirectoryAndPid) {
  testing::TempDir tmp;
  LockHolder holder(tmp.path());
  ASSERT_TRUE(holder.wait_locked());
  std::vector<std::string> waits;
  auto lock =
      EnvLock::acquire(tmp.path(), options(300ms, [&](std::string_view line) { waits.emplace_back(line); }));
  ASSERT_FALSE(lock);
  const std::string pid = std::to_string(holder.pid());
  const std::string dir = tmp.path().string();
  EXPECT_EQ(lock.error().kind, ErrorKind::runtime);
  EXPECT_EQ(lock.error().message.rfind(dir + ": ", 0), 0u) << lock.error().message;
  EXPECT_NE(lock.error().message.find("(pid " + pid + ")"), std::string::npos) << lock.error().message;
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits[0], "waiting for another strata process (pid " + pid + ") holding the lock of " + dir);
}

TEST(EnvLock, SecondProcessWaitsUntilTheFirstLetsGo) {
  testing::TempDir tmp;
  LockHolder holder(tmp.path());
  ASSERT_TRUE(holder.wait_locked());
  std::vector<std::string> waits;
  // The holder is told to exit only once we are waiting, so the wait really happens.
  auto lock = EnvLock::acquire(tmp.path(), options(std::nullopt, [&](std::string_view line) {
                                 waits.emplace_back(line);
                                 holder.release();
                               }));
  ASSERT_TRUE(lock) << lock.error().message;
  EXPECT_EQ(waits.size(), 1u);
}

TEST(EnvLock, DiesWithAKilledHolder) {
  testing::TempDir tmp;
  LockHolder holder(tmp.path());
  ASSERT_TRUE(holder.wait_locked());
  EXPECT_FALSE(EnvLock::acquire(tmp.path(), options(0ms)));
  holder.kill9();
  holder.wait();
  auto lock = EnvLock::acquire(tmp.path(), options(0ms));
  ASSERT_TRUE(lock) << lock.error().message;
}

TEST(EnvLock, HeldWithinOneProcessStillExcludes) {
  testing::TempDir tmp;
  auto first = EnvLock::acquire(tmp.path(), {});
  ASSERT_TRUE(first);
  auto second = EnvLock::acquire(tmp.path(), options(0ms));
  EXPECT_FALSE(second);
}

TEST(EnvLock, AWaiterLocksTheDirectoryThatIsThereAfterTheHolderRemovedTheEnvironment) {
  testing::TempDir tmp;
  const fs::path env_dir = tmp.path() / "new-env";
  auto first = EnvLock::acquire(env_dir, {});
  ASSERT_TRUE(first);
  std::optional<Result<EnvLock>> second;
  std::thread waiter([&] { second = EnvLock::acquire(env_dir, options(10s)); });
  std::this_thread::sleep_for(200ms);  // the waiter is polling the first directory's lock
  fs::remove_all(env_dir);             // a failed install takes its new environment away
  *first = EnvLock::acquire(tmp.path() / "elsewhere", {}).value();  // releases the removed directory
  waiter.join();
  ASSERT_TRUE(second && *second) << (second ? second->error().message : "");
  // The waiter holds the lock of the directory that exists now: a third writer is excluded.
  EXPECT_TRUE(fs::is_directory(env_dir));
  EXPECT_FALSE(EnvLock::acquire(env_dir, options(0ms)));
}

TEST(EnvLock, UncreatableDirectoryIsAnErrorNamingIt) {
  testing::TempDir tmp;
  std::ofstream(tmp.path() / "file") << "x";
  auto lock = EnvLock::acquire(tmp.path() / "file" / "venv", {});
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().message.find((tmp.path() / "file" / "venv").string()), std::string::npos)
      << lock.error().message;
}

}  // namespace
}  // namespace strata::env
