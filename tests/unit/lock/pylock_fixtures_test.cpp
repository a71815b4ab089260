// Real pylock.toml files written by `pip lock` and `uv export` (tests/fixtures/locks/*-pip, *-uv)
// read and selected for real targets.

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "support/paths.hpp"

#include "lock/load.hpp"
#include "lock/model.hpp"

namespace strata::lock {
namespace {

namespace fs = std::filesystem;

pep::MarkerEnvironment linux_env(const std::string& full, const std::string& short_version) {
  return {{"implementation_name", "cpython"},
          {"implementation_version", full},
          {"os_name", "posix"},
          {"platform_machine", "x86_64"},
          {"platform_python_implementation", "CPython"},
          {"platform_release", "6.1.0-18-amd64"},
          {"platform_system", "Linux"},
          {"platform_version", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"},
          {"python_full_version", full},
          {"python_version", short_version},
          {"sys_platform", "linux"}};
}

Selection select_for(const fs::path& dir, const std::string& full, const std::string& short_version) {
  // The uv fixtures keep uv.lock beside the pylock.toml exported from it: name the pylock.
  fs::path path = strata::testing::fixtures_dir() / "locks" / dir;
  if (fs::is_regular_file(path / "uv.lock")) path /= "pylock.toml";
  auto lock = load_lock(path);
  EXPECT_TRUE(lock) << (lock ? "" : lock.error().message);
  if (!lock) return {};
  SelectionRequest request;
  request.environment = linux_env(full, short_version);
  request.python_full_version = full;
  auto selection = select(*lock, request);
  EXPECT_TRUE(selection) << (selection ? "" : selection.error().message);
  return selection ? *selection : Selection{};
}

std::string version_of(const Selection& s, const std::string& name) {
  for (const auto& p : s.packages)
    if (p.name == name) return p.version_text;
  return "";
}

TEST(PylockFixtures, UvExportPicksTheVersionWhoseMarkerHolds) {
  auto py39 = select_for("datasci-uv", "3.9.18", "3.9");
  auto py311 = select_for("datasci-uv", "3.11.7", "3.11");
  auto py312 = select_for("datasci-uv", "3.12.1", "3.12");
  EXPECT_EQ(version_of(py39, "numpy"), "2.0.2");
  EXPECT_EQ(version_of(py311, "numpy"), "2.4.6");
  EXPECT_EQ(version_of(py312, "numpy"), "2.5.5");
  EXPECT_EQ(version_of(py311, "colorama"), "");  // sys_platform == 'win32'
  EXPECT_EQ(version_of(py39, "exceptiongroup"), "1.3.2");
  EXPECT_EQ(version_of(py312, "exceptiongroup"), "");
  for (const auto& p : py311.packages) EXPECT_FALSE(p.artifacts.empty()) << p.name;
}

TEST(PylockFixtures, UvWebappSelectsEachNameOnce) {
  auto s = select_for("webapp-uv", "3.11.7", "3.11");
  ASSERT_GT(s.packages.size(), 20u);
  std::set<std::string> names;
  for (const auto& p : s.packages) EXPECT_TRUE(names.insert(p.name).second) << p.name;
  EXPECT_EQ(version_of(s, "annotated-doc"), "0.0.7");
}

TEST(PylockFixtures, PipLockHasNoMarkersSoEverythingIsSelected) {
  auto s = select_for("webapp-pip", "3.11.7", "3.11");
  EXPECT_EQ(s.packages.size(), 27u);
  EXPECT_TRUE(s.excluded.empty());
  for (const auto& p : s.packages) {
    ASSERT_FALSE(p.artifacts.empty()) << p.name;
    EXPECT_TRUE(p.artifacts.front().hashes.contains("sha256")) << p.name;
  }
}

}  // namespace
}  // namespace strata::lock
