#pragma once
// Where a command's output goes: human text on stderr, one JSON document on stdout with --json.

#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace strata::cli {

/// Flags every command takes (SPEC "Commands").
struct GlobalOptions {
  int verbose = 0;
  bool quiet = false;
  bool json = false;
  std::string color = "auto";  ///< auto, always or never
};

/// Writes human messages and the JSON result of one command.
class Console {
 public:
  explicit Console(const GlobalOptions& options);

  bool json() const { return json_; }
  bool verbose() const { return verbosity_ > 0; }
  bool quiet() const { return verbosity_ < 0; }
  bool color() const { return color_; }
  /// Whether progress bars are drawn: stderr is a terminal that moves its cursor (TERM set and not
  /// "dumb"), and neither --quiet nor --json.
  bool live() const { return live_; }
  /// A normal progress or summary line (hidden by --quiet).
  void info(std::string_view line) const;
  /// A detail line shown with -v.
  void detail(std::string_view line) const;
  void warn(std::string_view line) const;
  /// One error line on stderr (the JSON document carries it separately).
  void error_line(std::string_view line) const;
  /// Reports a command-stopping error: on stderr, and in the JSON document with --json.
  void error(const Error& error) const;
  /// Prints the command's JSON document on stdout (only with --json).
  void emit(const nlohmann::json& document) const;
  /// The line of a command stopped by SIGINT or SIGTERM, "interrupted; <consequence>", shown even
  /// with --quiet; returns the exit code, 130.
  int interrupted(std::string_view consequence) const;

 private:
  bool json_ = false;
  int verbosity_ = 0;  // -1 quiet, 0 normal, >0 verbose
  bool color_ = false;
  bool live_ = false;
};

}  // namespace strata::cli
