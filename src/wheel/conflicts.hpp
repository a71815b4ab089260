#pragma once
// The check between preparing the wheels of one install and committing the first of them (SPEC
// "Installing": a wheel never overwrites a file it does not own — the environment's own files,
// another distribution's files, unmanaged files — except identical namespace `__init__.py`).

#include <span>

#include "env/installed.hpp"
#include "util/error.hpp"
#include "wheel/install.hpp"

namespace strata::wheel {

/// Refuses (kind runtime; every conflict at once, each naming the wheel, the file and its current
/// owner: a distribution, "the environment (venv)", "unmanaged", or another wheel of this install)
/// when one of `wheels` would
/// - write a file that exists and is not listed in the RECORD of the distribution it replaces,
///   unless it is an `__init__.py` with the same content (or the bytecode of such a file), or
///   would need a directory where such a file is; the venv's own files are never writable;
/// - write a file another of `wheels` writes too (the same exception);
/// - write into a `.dist-info` or `.egg-info` directory (planting metadata that claims another
///   distribution is installed);
/// - be a project another distribution in its library directories already is, other than the one
///   it replaces, or a project another of `wheels` is.
/// `installed` is the target's current installed set (env::scan_installed of its site dirs, with
/// its library directories among them). Call with the environment's writer lock held, after
/// every wheel is prepared and before any is committed.
Result<void> check_conflicts(std::span<const PreparedWheel> wheels, const env::InstalledSet& installed);

}  // namespace strata::wheel
