#include "env/default_target.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "env/venv.hpp"

namespace strata::env {
namespace fs = std::filesystem;

DefaultTarget default_target() {
  std::error_code ec;
  if (const char* active = std::getenv("VIRTUAL_ENV"); active && *active)
    return {fs::absolute(active, ec).lexically_normal(), "VIRTUAL_ENV"};
  if (fs::path local = fs::absolute(".venv", ec); !ec && is_venv(local)) return {local, "./.venv"};
  return {{}, "PATH"};
}

std::string describe(const DefaultTarget& target, const Interpreter& interpreter) {
  if (!target.env.empty())
    return fmt::format("Using environment {} (from {})", target.env.string(), target.source);
  const fs::path& real =
      interpreter.real_executable.empty() ? interpreter.executable : interpreter.real_executable;
  std::string line = fmt::format("Using interpreter {} (python3 on PATH", real.string());
  if (real != interpreter.executable) line += fmt::format(": {}", interpreter.executable.string());
  return line + "; give --env DIR for a virtual environment)";
}

}  // namespace strata::env
