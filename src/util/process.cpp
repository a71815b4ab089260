#include "util/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "util/interrupt.hpp"

extern char** environ;

namespace strata::util {
namespace {

struct Pipe {
  int fds[2] = {-1, -1};
  ~Pipe() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  void close_end(int i) {
    if (fds[i] >= 0) ::close(fds[i]);
    fds[i] = -1;
  }
};

// Starts argv with its stdin, stdout and stderr on the given descriptors (stderr -1: /dev/null),
// with the environment `env` (nullptr: strata's own).
Result<pid_t> start_process(const std::vector<std::string>& argv, int in, int out, int err,
                            const std::vector<std::string>* env = nullptr) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, 0);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  if (err >= 0)
    posix_spawn_file_actions_adddup2(&actions, err, 2);
  else
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (env) {
    for (const auto& e : *env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return fail(ErrorKind::runtime, fmt::format("cannot run {}: {}", argv[0], std::strerror(rc)));
  return pid;
}

}  // namespace

Result<ProcessOutput> run_process(const std::vector<std::string>& argv, const std::string& input) {
  if (argv.empty()) return fail(ErrorKind::runtime, "run_process: empty command");
  Pipe in, out, err;
  if (::pipe2(in.fds, O_CLOEXEC) != 0 || ::pipe2(out.fds, O_CLOEXEC) != 0 || ::pipe2(err.fds, O_CLOEXEC) != 0)
    return fail(ErrorKind::runtime, fmt::format("cannot create pipes: {}", std::strerror(errno)));

  auto spawned = start_process(argv, in.fds[0], out.fds[1], err.fds[1]);
  if (!spawned) return std::unexpected(spawned.error());
  const pid_t pid = *spawned;
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);

  ProcessOutput result;
  std::size_t written = 0;
  if (input.empty()) in.close_end(1);
  std::array<pollfd, 3> fds{};
  std::array<char, 65536> buf{};
  while (true) {
    nfds_t n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out.fds[0] >= 0) fds[out_i = static_cast<int>(n++)] = {out.fds[0], POLLIN, 0};
    if (err.fds[0] >= 0) fds[err_i = static_cast<int>(n++)] = {err.fds[0], POLLIN, 0};
    if (in.fds[1] >= 0) fds[in_i = static_cast<int>(n++)] = {in.fds[1], POLLOUT, 0};
    if (n == 0) break;
    if (::poll(fds.data(), n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto drain = [&](int index, Pipe& p, std::string& sink) {
      if (index < 0 || !(fds[static_cast<std::size_t>(index)].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t got = ::read(p.fds[0], buf.data(), buf.size());
      if (got > 0)
        sink.append(buf.data(), static_cast<std::size_t>(got));
      else if (got == 0 || errno != EINTR)
        p.close_end(0);
    };
    drain(out_i, out, result.out);
    drain(err_i, err, result.err);
    if (in_i >= 0 && (fds[static_cast<std::size_t>(in_i)].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t put = ::write(in.fds[1], input.data() + written, input.size() - written);
      if (put > 0) written += static_cast<std::size_t>(put);
      if (put < 0 && errno != EINTR && errno != EAGAIN) written = input.size();
      if (written >= input.size()) in.close_end(1);
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Result<LoggedExit> run_logged(const LoggedProcess& process) {
  if (process.argv.empty()) return fail(ErrorKind::runtime, "run_logged: empty command");
  int log = ::open(process.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0)
    return fail(ErrorKind::runtime,
                fmt::format("cannot open {}: {}", process.log.string(), std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log, 1);
  posix_spawn_file_actions_adddup2(&actions, log, 2);
  if (!process.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, process.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> args;
  for (const auto& a : process.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (process.env) {
    for (const auto& e : *process.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), process.env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(log);
  if (rc != 0)
    return fail(ErrorKind::runtime, fmt::format("cannot run {}: {}", process.argv[0], std::strerror(rc)));

  LoggedExit result;
  const auto deadline = std::chrono::steady_clock::now() + process.timeout;
  int status = 0;
  bool killed = false;
  while (true) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (process.timeout.count() > 0 && std::chrono::steady_clock::now() >= deadline && !result.timed_out) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
    }
    // Ctrl-C or SIGTERM reach strata alone (the group is the command's own): it goes too.
    if (interrupted() && !killed) {
      killed = true;
      ::kill(-pid, SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Whatever the command left running in its group (a compiler it started) goes with it.
  ::kill(-pid, SIGKILL);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  return env;
}

Result<Child> Child::spawn(const std::vector<std::string>& argv,
                           const std::optional<std::vector<std::string>>& env) {
  if (argv.empty()) return fail(ErrorKind::runtime, "Child::spawn: empty command");
  Pipe in, out;
  if (::pipe2(in.fds, O_CLOEXEC) != 0 || ::pipe2(out.fds, O_CLOEXEC) != 0)
    return fail(ErrorKind::runtime, fmt::format("cannot create pipes: {}", std::strerror(errno)));
  auto spawned = start_process(argv, in.fds[0], out.fds[1], -1, env ? &*env : nullptr);
  if (!spawned) return std::unexpected(spawned.error());
  const pid_t pid = *spawned;
  Child child(pid, std::exchange(in.fds[1], -1), std::exchange(out.fds[0], -1), argv[0]);
  return child;
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      in_(std::exchange(other.in_, -1)),
      out_(std::exchange(other.out_, -1)),
      name_(std::move(other.name_)),
      pending_(std::move(other.pending_)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    close_and_wait();
    pid_ = std::exchange(other.pid_, -1);
    in_ = std::exchange(other.in_, -1);
    out_ = std::exchange(other.out_, -1);
    name_ = std::move(other.name_);
    pending_ = std::move(other.pending_);
  }
  return *this;
}

Child::~Child() { close_and_wait(); }

void Child::close_and_wait() noexcept {
  if (in_ >= 0) ::close(std::exchange(in_, -1));
  if (out_ >= 0) ::close(std::exchange(out_, -1));
  if (pid_ > 0) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

Result<void> Child::write(std::string_view data) {
  // A child that exited makes write() raise SIGPIPE: block it for this thread and consume it, so
  // the failure comes back as EPIPE without changing the process's signal dispositions.
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  int error = 0;
  while (!data.empty()) {
    ssize_t put = ::write(in_, data.data(), data.size());
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) {
      error = errno;
      break;
    }
    data.remove_prefix(static_cast<std::size_t>(put));
  }
  if (error == EPIPE) {
    const timespec zero{0, 0};
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE)) sigtimedwait(&pipe_set, nullptr, &zero);
  }
  ::pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  if (error != 0)
    return fail(ErrorKind::runtime,
                fmt::format("{}: cannot write to the process: {}", name_, std::strerror(error)));
  return {};
}

Result<std::vector<std::string>> Child::read_fields(std::size_t count) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  std::array<char, 65536> buf{};
  while (fields.size() < count) {
    std::size_t nul = pending_.find('\0', start);
    if (nul != std::string::npos) {
      fields.push_back(pending_.substr(start, nul - start));
      start = nul + 1;
      continue;
    }
    pending_.erase(0, start);
    start = 0;
    ssize_t got = ::read(out_, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return fail(ErrorKind::runtime, fmt::format("{}: the process stopped answering", name_));
    pending_.append(buf.data(), static_cast<std::size_t>(got));
  }
  pending_.erase(0, start);
  return fields;
}

}  // namespace strata::util
