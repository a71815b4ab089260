// libFuzzer entry point for the lock readers: the input is read as a pylock.toml, as a uv.lock,
// as a pdm.lock (alone and with itself as pyproject.toml), as a poetry.lock alone and as a
// poetry.lock with itself as pyproject.toml; selection runs on what
// parses. Built with -DSTRATA_FUZZ=ON (clang, -fsanitize=fuzzer); the corpus replay test calls
// the same function under g++.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lock/content_hash.hpp"
#include "lock/load.hpp"
#include "lock/poetry_constraint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata::lock;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  SelectionRequest request;
  request.environment = {{"sys_platform", "linux"},         {"python_version", "3.11"},
                         {"python_full_version", "3.11.7"}, {"os_name", "posix"},
                         {"platform_machine", "x86_64"},    {"implementation_name", "cpython"},
                         {"platform_system", "Linux"},      {"platform_python_implementation", "CPython"}};
  request.python_full_version = "3.11.7";
  request.all_extras = true;
  if (auto lock = parse_lock(text, "pylock.toml")) (void)select(*lock, request);
  if (auto lock = parse_lock(text, "uv.lock")) {
    (void)select(*lock, request);
    request.all_packages = true;
    request.with = {"main"};
    for (const auto& g : lock->groups) request.with.push_back(g.name);
    (void)select(*lock, request);
    request.all_packages = false;
    request.with.clear();
  }
  if (auto lock = parse_lock(text, "pdm.lock")) (void)select(*lock, request);
  if (auto lock = parse_lock(text, "pdm.lock", PyprojectText{text, "pyproject.toml"})) {
    request.with.clear();
    for (const auto& g : lock->groups) request.with.push_back(g.name);
    (void)select(*lock, request);
    request.with.clear();
  }
  if (auto lock = parse_lock(text, "poetry.lock")) (void)select(*lock, request);
  if (auto lock = parse_lock(text, "poetry.lock", PyprojectText{text, "pyproject.toml"})) {
    (void)select(*lock, request);
    (void)content_hash_matches(*lock, text, "pyproject.toml");
  }
  if (size < 256) (void)PoetryConstraint::parse(text);
  return 0;
}
