#include "env/cache_dir.hpp"

#include <cstdlib>

namespace strata::env {
namespace {

std::string_view env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string_view(value) : std::string_view();
}

}  // namespace

Result<std::filesystem::path> resolve_cache_root(std::string_view override_dir,
                                                 std::string_view strata_cache_dir,
                                                 std::string_view xdg_cache_home, std::string_view home) {
  std::filesystem::path root;
  if (!override_dir.empty())
    root = override_dir;
  else if (!strata_cache_dir.empty())
    root = strata_cache_dir;
  else if (!xdg_cache_home.empty())
    root = std::filesystem::path(xdg_cache_home) / "strata";
  else if (!home.empty())
    root = std::filesystem::path(home) / ".cache" / "strata";
  else
    return fail(ErrorKind::usage,
                "no cache directory: set --cache-dir, STRATA_CACHE_DIR, XDG_CACHE_HOME or HOME");
  return std::filesystem::absolute(root).lexically_normal();
}

Result<std::filesystem::path> cache_root(std::string_view override_dir) {
  return resolve_cache_root(override_dir, env_or_empty("STRATA_CACHE_DIR"), env_or_empty("XDG_CACHE_HOME"),
                            env_or_empty("HOME"));
}

std::filesystem::path interpreter_cache_dir(const std::filesystem::path& cache_root) {
  return cache_root / "interpreters";
}

}  // namespace strata::env
