#include "plan/wheel_choice.hpp"

#include <gtest/gtest.h>

namespace strata::plan {
namespace {

lock::Package package_with(std::vector<std::string> files) {
  lock::Package p;
  p.name = "demo";
  p.display_name = "Demo";
  p.version_text = "1.0";
  for (auto& f : files) {
    lock::Artifact a;
    a.kind = f.ends_with(".whl") ? lock::Artifact::Kind::wheel : lock::Artifact::Kind::sdist;
    a.filename = f;
    p.artifacts.push_back(a);
  }
  return p;
}

TagRanking target() {
  return TagRanking({{"cp311", "cp311", "manylinux_2_17_x86_64"},
                     {"cp311", "abi3", "manylinux_2_17_x86_64"},
                     {"cp311", "none", "manylinux_2_17_x86_64"},
                     {"py3", "none", "manylinux_2_17_x86_64"},
                     {"py3", "none", "any"}});
}

TEST(WheelChoice, BestRankedCompatibleWheelWins) {
  auto p = package_with({"demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl",
                         "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                         "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"});
  auto choice = choose_wheel(p, target());
  ASSERT_TRUE(choice) << choice.error().message;
  EXPECT_EQ(choice->artifact, 2u);
  EXPECT_EQ(choice->rank, 0);
}

TEST(WheelChoice, HigherBuildTagBreaksTies) {
  auto p = package_with(
      {"demo-1.0-1-py3-none-any.whl", "demo-1.0-2-py3-none-any.whl", "demo-1.0-py3-none-any.whl"});
  auto choice = choose_wheel(p, target());
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->artifact, 1u);
}

TEST(WheelChoice, NoCompatibleWheelNamesPackageFilesAndTargetTags) {
  auto p = package_with({"demo-1.0.tar.gz", "demo-1.0-cp312-cp312-win_amd64.whl"});
  auto choice = choose_wheel(p, target());
  ASSERT_FALSE(choice);
  EXPECT_EQ(choice.error().kind, ErrorKind::check);
  const std::string& m = choice.error().message;
  EXPECT_NE(m.find("Demo 1.0"), std::string::npos) << m;
  EXPECT_NE(m.find("cp311-cp311-manylinux_2_17_x86_64"), std::string::npos) << m;
  EXPECT_NE(m.find("the lock has one wheel for cp312 on Windows; an sdist"), std::string::npos) << m;
}

TEST(WheelChoice, SdistOnlyIsSummarised) {
  auto choice = choose_wheel(package_with({"demo-1.0.tar.gz"}), target());
  ASSERT_FALSE(choice);
  EXPECT_EQ(choice.error().message,
            "Demo 1.0: no wheel in the lock matches the target (cp311-cp311-manylinux_2_17_x86_64 and 4 more "
            "tags); the lock has an sdist");
}

// numpy 2.0.2's files as tests/fixtures/locks/datasci-poetry2/poetry.lock lists them (from PyPI).
const std::vector<std::string> kNumpy202 = {
    "numpy-2.0.2-cp310-cp310-macosx_10_9_x86_64.whl",
    "numpy-2.0.2-cp310-cp310-macosx_11_0_arm64.whl",
    "numpy-2.0.2-cp310-cp310-macosx_14_0_arm64.whl",
    "numpy-2.0.2-cp310-cp310-macosx_14_0_x86_64.whl",
    "numpy-2.0.2-cp310-cp310-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "numpy-2.0.2-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-2.0.2-cp310-cp310-musllinux_1_1_x86_64.whl",
    "numpy-2.0.2-cp310-cp310-musllinux_1_2_aarch64.whl",
    "numpy-2.0.2-cp310-cp310-win32.whl",
    "numpy-2.0.2-cp310-cp310-win_amd64.whl",
    "numpy-2.0.2-cp311-cp311-macosx_10_9_x86_64.whl",
    "numpy-2.0.2-cp311-cp311-macosx_11_0_arm64.whl",
    "numpy-2.0.2-cp311-cp311-macosx_14_0_arm64.whl",
    "numpy-2.0.2-cp311-cp311-macosx_14_0_x86_64.whl",
    "numpy-2.0.2-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "numpy-2.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-2.0.2-cp311-cp311-musllinux_1_1_x86_64.whl",
    "numpy-2.0.2-cp311-cp311-musllinux_1_2_aarch64.whl",
    "numpy-2.0.2-cp311-cp311-win32.whl",
    "numpy-2.0.2-cp311-cp311-win_amd64.whl",
    "numpy-2.0.2-cp312-cp312-macosx_10_9_x86_64.whl",
    "numpy-2.0.2-cp312-cp312-macosx_11_0_arm64.whl",
    "numpy-2.0.2-cp312-cp312-macosx_14_0_arm64.whl",
    "numpy-2.0.2-cp312-cp312-macosx_14_0_x86_64.whl",
    "numpy-2.0.2-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "numpy-2.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-2.0.2-cp312-cp312-musllinux_1_1_x86_64.whl",
    "numpy-2.0.2-cp312-cp312-musllinux_1_2_aarch64.whl",
    "numpy-2.0.2-cp312-cp312-win32.whl",
    "numpy-2.0.2-cp312-cp312-win_amd64.whl",
    "numpy-2.0.2-cp39-cp39-macosx_10_9_x86_64.whl",
    "numpy-2.0.2-cp39-cp39-macosx_11_0_arm64.whl",
    "numpy-2.0.2-cp39-cp39-macosx_14_0_arm64.whl",
    "numpy-2.0.2-cp39-cp39-macosx_14_0_x86_64.whl",
    "numpy-2.0.2-cp39-cp39-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "numpy-2.0.2-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-2.0.2-cp39-cp39-musllinux_1_1_x86_64.whl",
    "numpy-2.0.2-cp39-cp39-musllinux_1_2_aarch64.whl",
    "numpy-2.0.2-cp39-cp39-win32.whl",
    "numpy-2.0.2-cp39-cp39-win_amd64.whl",
    "numpy-2.0.2-pp39-pypy39_pp73-macosx_10_9_x86_64.whl",
    "numpy-2.0.2-pp39-pypy39_pp73-macosx_14_0_x86_64.whl",
    "numpy-2.0.2-pp39-pypy39_pp73-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-2.0.2-pp39-pypy39_pp73-win_amd64.whl",
    "numpy-2.0.2.tar.gz"};

TEST(SummariseFiles, NumpyByPythonsPlatformsAndSdist) {
  EXPECT_EQ(
      summarise_files(kNumpy202),
      "44 wheels for cp39\u2013cp312, pp39 on manylinux (aarch64, x86_64), musllinux (aarch64, x86_64), "
      "macOS, Windows; an sdist");
}

TEST(SummariseFiles, PurePythonAbi3AndOddFiles) {
  EXPECT_EQ(summarise_files({"six-1.16.0-py2.py3-none-any.whl", "six-1.16.0.tar.gz"}),
            "one wheel for py2, py3 on any platform; an sdist");
  EXPECT_EQ(summarise_files({"cryptography-43.0.1-cp39-abi3-manylinux_2_28_x86_64.whl",
                             "cryptography-43.0.1-cp37-abi3-macosx_10_9_universal2.whl",
                             "cryptography-43.0.1-cp39-abi3-win_amd64.whl"}),
            "3 wheels for cp37+ abi3 on manylinux (x86_64), macOS, Windows");
  EXPECT_EQ(
      summarise_files({"pywin32-306-cp311-cp311-win_amd64.whl", "pywin32-306-cp312-cp312-win_arm64.whl"}),
      "2 wheels for cp311, cp312 on Windows");
  EXPECT_EQ(summarise_files({"demo-1.0.tar.gz", "demo-1.0.zip", "(unnamed file)"}),
            "2 sdists; one other file");
}

}  // namespace
}  // namespace strata::plan
