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
  EXPECT_NE(m.find("demo-1.0-cp312-cp312-win_amd64.whl"), std::string::npos) << m;
  EXPECT_NE(m.find("demo-1.0.tar.gz"), std::string::npos) << m;
}

TEST(WheelChoice, SdistOnlySaysStrataDoesNotBuild) {
  auto choice = choose_wheel(package_with({"demo-1.0.tar.gz"}), target());
  ASSERT_FALSE(choice);
  EXPECT_NE(choice.error().message.find("does not build"), std::string::npos) << choice.error().message;
}

}  // namespace
}  // namespace strata::plan
