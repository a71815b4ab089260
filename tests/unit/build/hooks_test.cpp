#include "build/hooks.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "support/tempdir.hpp"

namespace strata::build::detail {
namespace {

void write(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

TEST(ReadBuildSystem, SetupPyOnlyGetsPipsDefaults) {
  testing::TempDir tmp;
  write(tmp.path() / "setup.py", "");
  auto system = read_build_system(tmp.path());
  ASSERT_TRUE(system) << system.error().message;
  EXPECT_EQ(system->requires_, (std::vector<std::string>{"setuptools>=40.8.0", "wheel"}));
  EXPECT_EQ(system->backend, "setuptools.build_meta:__legacy__");
  EXPECT_FALSE(system->from_pyproject);
}

TEST(ReadBuildSystem, PyprojectWithoutBackendUsesTheLegacyBackend) {
  testing::TempDir tmp;
  write(tmp.path() / "pyproject.toml", "[build-system]\nrequires = [\"setuptools>=61\"]\n");
  auto system = read_build_system(tmp.path());
  ASSERT_TRUE(system) << system.error().message;
  EXPECT_EQ(system->requires_, (std::vector<std::string>{"setuptools>=61"}));
  EXPECT_EQ(system->backend, "setuptools.build_meta:__legacy__");
  EXPECT_TRUE(system->from_pyproject);
}

TEST(ReadBuildSystem, PyprojectWithoutBuildSystemTableGetsTheDefaults) {
  testing::TempDir tmp;
  write(tmp.path() / "pyproject.toml", "[tool.black]\nline-length = 100\n");
  auto system = read_build_system(tmp.path());
  ASSERT_TRUE(system) << system.error().message;
  EXPECT_EQ(system->backend, "setuptools.build_meta:__legacy__");
  EXPECT_FALSE(system->from_pyproject);
}

TEST(ReadBuildSystem, BackendPathMustStayInTheTree) {
  testing::TempDir tmp;
  write(tmp.path() / "pyproject.toml",
        "[build-system]\nrequires = []\nbuild-backend = \"b\"\nbackend-path = [\"../elsewhere\"]\n");
  auto system = read_build_system(tmp.path());
  ASSERT_FALSE(system);
  EXPECT_NE(system.error().message.find("outside the source tree"), std::string::npos);
}

TEST(ReadBuildSystem, ErrorsNameTheFile) {
  testing::TempDir tmp;
  write(tmp.path() / "pyproject.toml", "[build-system\n");
  auto broken = read_build_system(tmp.path());
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("pyproject.toml:1:"), std::string::npos) << broken.error().message;
  std::filesystem::remove(tmp.path() / "pyproject.toml");
  auto empty = read_build_system(tmp.path());
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("neither pyproject.toml nor setup.py"), std::string::npos);
}

}  // namespace
}  // namespace strata::build::detail
