#pragma once
// Running a child process and collecting what it prints, or keeping one running to talk to.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::util {

struct ProcessOutput {
  int exit_code = 0;  ///< exit status, or 128 + signal number when killed by a signal
  std::string out;
  std::string err;
};

/// Runs argv[0] (searched on PATH when it has no slash) with argv, feeding `input` on stdin,
/// and waits for it. Fails only when the process cannot be started.
Result<ProcessOutput> run_process(const std::vector<std::string>& argv, const std::string& input = {});

/// A long-running command whose output goes to a log file (builds).
struct LoggedProcess {
  std::vector<std::string> argv;  ///< argv[0] searched on PATH of this process when it has no slash
  /// The complete environment ("NAME=value"); nullopt inherits this process's.
  std::optional<std::vector<std::string>> env;
  std::filesystem::path cwd;  ///< empty: this process's working directory
  std::filesystem::path log;  ///< stdout and stderr are appended here; stdin is /dev/null
  /// Killed (its whole process group) when it runs longer; zero: no limit.
  std::chrono::milliseconds timeout{0};
};

/// How a LoggedProcess ended.
struct LoggedExit {
  int exit_code = 0;  ///< exit status, or 128 + signal number when killed by a signal
  bool timed_out = false;
};

/// Runs `process` in a process group of its own and waits for it (or its timeout). Fails only
/// when it cannot be started (the error names argv[0]) or the log cannot be opened.
Result<LoggedExit> run_logged(const LoggedProcess& process);

/// strata's own environment ("NAME=value" entries), to change for a child.
std::vector<std::string> current_environment();

/// A running child process with a pipe to its stdin and one from its stdout; its stderr goes to
/// /dev/null. The destructor closes stdin and waits for the process to exit.
class Child {
 public:
  /// Starts argv[0] (searched on PATH when it has no slash) with the environment `env`
  /// ("NAME=value" entries), or strata's own when it is nullopt. Fails when it cannot be started.
  static Result<Child> spawn(const std::vector<std::string>& argv,
                             const std::optional<std::vector<std::string>>& env = std::nullopt);

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  /// Writes all of `data` to the child's stdin. Fails when the child has closed it (exited).
  Result<void> write(std::string_view data);
  /// Reads from the child's stdout until `count` NUL-terminated fields have arrived, and returns
  /// them (without the NULs). Fails when the child exits first.
  Result<std::vector<std::string>> read_fields(std::size_t count);
  /// What the process is called in messages (argv[0]).
  const std::string& name() const { return name_; }

 private:
  Child(pid_t pid, int in, int out, std::string name)
      : pid_(pid), in_(in), out_(out), name_(std::move(name)) {}
  void close_and_wait() noexcept;

  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string name_;
  std::string pending_;  ///< bytes read past the last field returned
};

}  // namespace strata::util
