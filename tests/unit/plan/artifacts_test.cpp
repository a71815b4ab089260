#include "plan/artifacts.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "support/paths.hpp"

#include "lock/load.hpp"

namespace strata::plan {
namespace {
namespace fs = std::filesystem;

lock::Package locked(const std::string& filename) {
  lock::Package p;
  p.name = "goodpkg";
  p.display_name = "GoodPkg";
  p.version = *pep::Version::parse("1.0");
  p.version_text = "1.0";
  lock::Artifact a;
  a.kind = lock::Artifact::Kind::wheel;
  a.filename = filename;
  a.path = filename;
  a.hashes["sha256"] = std::string(64, 'a');
  p.artifacts.push_back(a);
  return p;
}

WheelChoices choose(const lock::Package& p) {
  lock::Lock lock;
  lock::Selection selection;
  selection.packages.push_back(p);
  return choose_wheels(lock, selection, TagRanking({{"py3", "none", "any"}}), "/locks");
}

TEST(ChooseWheels, AWheelNamedForAnotherProjectOrVersionIsAProblemBeforeDownload) {
  for (const char* filename :
       {"otherpkg-6.6-py3-none-any.whl", "goodpkg-6.6-py3-none-any.whl", "otherpkg-1.0-py3-none-any.whl"}) {
    auto choices = choose(locked(filename));
    EXPECT_TRUE(choices.chosen.empty()) << filename;
    ASSERT_EQ(choices.problems.size(), 1u) << filename;
    EXPECT_NE(choices.problems[0].find("GoodPkg 1.0"), std::string::npos) << choices.problems[0];
    EXPECT_NE(choices.problems[0].find(filename), std::string::npos) << choices.problems[0];
  }
}

TEST(ChooseWheels, NamesCompareNormalizedAndVersionsAsPep440) {
  for (const char* filename :
       {"GoodPkg-1.0-py3-none-any.whl", "goodpkg-1.0.0-py3-none-any.whl", "good_pkg-1.0-py3-none-any.whl"}) {
    auto p = locked(filename);
    if (std::string(filename).starts_with("good_")) p.name = "good-pkg";
    auto choices = choose(p);
    EXPECT_TRUE(choices.problems.empty()) << filename << ": " << choices.problems[0];
    EXPECT_EQ(choices.chosen.size(), 1u) << filename;
  }
}

// Every wheel of every real lock in the fixtures is named for its package: the check refuses no
// real lock.
TEST(IdentityMismatch, NoneInTheRealFixtureLocks) {
  std::size_t wheels = 0;
  for (const auto& dir : fs::directory_iterator(strata::testing::fixtures_dir() / "locks")) {
    if (!dir.is_directory()) continue;
    auto lock = lock::load_lock(dir.path());
    if (!lock) continue;  // directories holding more than one lock are read by their own tests
    for (const auto& p : lock->packages)
      for (const auto& a : p.artifacts) {
        // Files a lock knows only by hash (requirements.txt) have no name until located.
        if (a.kind != lock::Artifact::Kind::wheel || lock::is_hash_only(a)) continue;
        ++wheels;
        EXPECT_EQ(identity_mismatch(p, a), std::nullopt) << dir.path() << ": " << a.filename;
      }
  }
  EXPECT_GT(wheels, 1000u);
}

}  // namespace
}  // namespace strata::plan
