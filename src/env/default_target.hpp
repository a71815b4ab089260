#pragma once
// Where `install` and `list` work when given no --env, --python or --prefix, as uv does: the
// active virtual environment ($VIRTUAL_ENV), else ./.venv, else the python3 on PATH.

#include <filesystem>
#include <string>

#include "env/probe.hpp"

namespace strata::env {

/// The environment chosen without a target flag.
struct DefaultTarget {
  std::filesystem::path env;  ///< absolute; empty: the interpreter on PATH, in its own environment
  std::string source;         ///< "VIRTUAL_ENV", "./.venv" or "PATH"
};

/// $VIRTUAL_ENV when set and not empty (a directory that need not exist yet), else ./.venv when it
/// is a virtual environment (pyvenv.cfg), else python3 on PATH.
DefaultTarget default_target();

/// The line saying which: "Using environment /abs/.venv (from VIRTUAL_ENV)", or for the
/// interpreter on PATH its real path (a pyenv shim resolved through the probe's
/// real_executable): "Using interpreter /root/.pyenv/versions/3.12.3/bin/python3.12 (python3 on
/// PATH: /root/.pyenv/shims/python3)".
std::string describe(const DefaultTarget& target, const Interpreter& interpreter);

}  // namespace strata::env
