#pragma once
// The one error model: std::expected<T, Error> where failure is normal, and CommandError to stop a
// command, caught once in strata::main and mapped to the documented exit codes.

#include <exception>
#include <expected>
#include <string>
#include <utility>

namespace strata {

/// What kind of failure, which decides the process exit code (SPEC "Exit codes").
enum class ErrorKind {
  runtime = 1,  ///< network, I/O, hash mismatch, build
  usage = 2,    ///< bad flags, malformed input, unknown group
  check = 3,    ///< conflict, stale lock, no wheel
};

/// A failure with a message that names its subject (a file:line:col, a URL, a package).
struct Error {
  ErrorKind kind = ErrorKind::runtime;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

/// Shorthand for returning an error from a function that returns Result<T>.
inline std::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return std::unexpected(Error{kind, std::move(message)});
}

/// Thrown to stop the current command; caught once in strata::main.
class CommandError : public std::exception {
 public:
  explicit CommandError(Error error) : error_(std::move(error)) {}
  CommandError(ErrorKind kind, std::string message) : error_{kind, std::move(message)} {}
  const Error& error() const noexcept { return error_; }
  const char* what() const noexcept override { return error_.message.c_str(); }

 private:
  Error error_;
};

/// Returns the value of a Result or throws its error as a CommandError.
template <class T>
T value_or_throw(Result<T>&& result) {
  if (!result) throw CommandError(std::move(result.error()));
  return std::move(*result);
}

/// Throws the error of a Result<void> as a CommandError.
inline void value_or_throw(Result<void>&& result) {
  if (!result) throw CommandError(std::move(result.error()));
}

/// Exit code for an error kind.
constexpr int exit_code(ErrorKind kind) { return static_cast<int>(kind); }

}  // namespace strata
