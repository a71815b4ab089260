#pragma once
// `strata check [LOCK] (--env DIR | --python PY | --base LOCK2 …)`: everything `install` would
// decide (plan/prepare.hpp), without downloading or writing, plus the pyproject.toml lint
// (lock/constraint_lint.hpp), all problems at once (SPEC "strata check"). With `--base` the
// installed set is the base locks' selection for the target, each package owned by its base's
// owner, decided with the same rules as a real environment.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/prepare.hpp"

namespace strata::plan {

/// Every flag of `strata check`, as plain data.
struct CheckOptions {
  PlanRequest request;             ///< lock, selection, target (`locked`: a stale lock is an error)
  std::vector<std::string> bases;  ///< --base LOCK2: the installed set instead of an environment
  bool strict = false;             ///< warnings fail the check too
  bool empty_env = false;          ///< --empty-env: decide against nothing installed (a new venv)
};

/// What `strata check` found.
struct CheckReport {
  int exit_code = 0;                  ///< 0, or 3 when there is a problem (or, with strict, a warning)
  std::vector<std::string> problems;  ///< errors: conflicts, packages without a wheel, requires-python
  std::vector<std::string> warnings;  ///< stale lock (without --locked), caret/tilde lint, metadata
  std::string summary;                ///< one human line
  nlohmann::json json;                ///< the --json document
};

/// The Requires-Dist a base lock's package stands for when the base is the installed set, so that
/// a conflict names what replacing a base package would break, as it does against a real
/// environment. Only a poetry.lock records its packages' own constraints (`[package.dependencies]`,
/// taken from their metadata); a pylock.toml or uv.lock names the locked versions it chose, not
/// what the package requires, so their packages require nothing here. Left out: optional
/// dependencies (only an extra asks for them), ones with a Poetry `python`/`platform` restriction,
/// and constraints with alternatives ("||"), which one PEP 508 requirement cannot say.
std::vector<std::string> base_requires_dist(const lock::Lock& lock, const lock::Package& package);

/// Runs `strata check`. Usage (2) and runtime (1) failures throw CommandError; everything the
/// check is about is in the report.
CheckReport run_check(const CheckOptions& options, PlanObserver& observer);

}  // namespace strata::plan
