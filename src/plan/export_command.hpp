#pragma once
// `strata export [LOCK] --format requirements|pylock [-o FILE]`: the planning front half
// (prepare: the same selection, target and wheel choice as install), then the selected packages
// written as a hashed requirements.txt or a PEP 751 pylock.toml (lock/export.hpp). The project
// itself is left out (as install does without --install-project); files a lock knows only by hash
// or only by name are located on the index first (plan/locate.hpp) so that a pylock has URLs.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/prepare.hpp"

namespace strata::plan {

/// Every flag of `strata export`, as plain data.
struct ExportOptions {
  PlanRequest request;  ///< lock, selection, target, index access
  std::string format;   ///< "requirements" or "pylock"
  std::string out;      ///< -o FILE ("" = standard output)
};

/// What `strata export` wrote.
struct ExportReport {
  int exit_code = 0;
  std::string content;                ///< the exported file's text
  std::vector<std::string> problems;  ///< packages that cannot be exported (exit 3)
  std::string summary;                ///< one human line
  nlohmann::json json;                ///< the --json document
};

/// Runs `strata export`. Usage (2) and runtime (1) failures throw CommandError; packages that
/// cannot be exported (a directory or VCS source, no sha256) are problems with exit code 3 and
/// nothing written.
ExportReport run_export(const ExportOptions& options, PlanObserver& observer);

}  // namespace strata::plan
