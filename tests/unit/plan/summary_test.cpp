// The one summary line of `strata install` (SPEC "Output"): its counts, their plurals, what is left
// out when zero.

#include <gtest/gtest.h>

#include "plan/install.hpp"

namespace strata::plan {
namespace {

InstallReport counts(std::size_t installed, std::size_t replaced, std::size_t kept) {
  InstallReport r;
  r.installed = installed;
  r.replaced = replaced;
  r.kept = kept;
  r.elapsed = std::chrono::milliseconds(1800);
  return r;
}

TEST(InstallSummary, CountsEveryKindWithPlurals) {
  InstallReport r = counts(39, 3, 12);
  r.removed = 2;
  r.downloaded = 30;
  r.cached = 10;
  r.built = 2;
  EXPECT_EQ(
      summary_line(r),
      "Installed 42 packages (3 replaced, 12 kept, 2 removed as no longer locked; 30 downloaded, 10 cached, "
      "2 built) in 1.80s");
}

TEST(InstallSummary, OnePackageIsSingular) {
  InstallReport r = counts(1, 0, 0);
  r.cached = 1;
  EXPECT_EQ(summary_line(r), "Installed 1 package (1 cached) in 1.80s");
  r = counts(0, 1, 1);
  r.kept_local = 1;
  r.downloaded = 1;
  EXPECT_EQ(summary_line(r),
            "Installed 1 package (1 replaced, 1 kept (1 local build); 1 downloaded) in 1.80s");
}

TEST(InstallSummary, BuildsFromTheCacheAreCountedApart) {
  InstallReport r = counts(3, 0, 0);
  r.built = 1;
  r.builds_cached = 2;
  EXPECT_EQ(summary_line(r), "Installed 3 packages (3 built (2 from the cache)) in 1.80s");
}

TEST(InstallSummary, NothingToDoAndRemovalsOnly) {
  EXPECT_EQ(summary_line(counts(0, 0, 1)), "Nothing to do: 1 package already installed (1.80s)");
  InstallReport r = counts(0, 0, 12);
  r.kept_removed = 1;
  EXPECT_EQ(summary_line(r),
            "Nothing to do: 12 packages already installed, 1 no longer locked kept (--keep-removed) (1.80s)");
  r = counts(0, 0, 2);
  r.removed = 1;
  EXPECT_EQ(summary_line(r), "Removed 1 package no longer locked (2 kept) in 1.80s");
}

TEST(InstallSummary, DryRun) {
  InstallReport r = counts(2, 1, 0);
  r.removed = 1;
  EXPECT_EQ(dry_run_summary(r),
            "Would install 3 packages (1 to replace, 1 to remove as no longer locked); nothing was "
            "changed");
  EXPECT_EQ(dry_run_summary(counts(1, 0, 0)), "Would install 1 package; nothing was changed");
}

}  // namespace
}  // namespace strata::plan
