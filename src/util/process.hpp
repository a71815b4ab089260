#pragma once
// Running a child process and collecting what it prints.

#include <string>
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

}  // namespace strata::util
