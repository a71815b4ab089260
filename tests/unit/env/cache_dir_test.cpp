#include "env/cache_dir.hpp"

#include <gtest/gtest.h>

namespace strata::env {
namespace {

TEST(CacheDir, PrecedenceFlagThenStrataThenXdgThenHome) {
  EXPECT_EQ(*resolve_cache_root("/flag", "/strata", "/xdg", "/home/u"), "/flag");
  EXPECT_EQ(*resolve_cache_root("", "/strata", "/xdg", "/home/u"), "/strata");
  EXPECT_EQ(*resolve_cache_root("", "", "/xdg", "/home/u"), "/xdg/strata");
  EXPECT_EQ(*resolve_cache_root("", "", "", "/home/u"), "/home/u/.cache/strata");
  EXPECT_EQ(interpreter_cache_dir("/c"), "/c/interpreters");
}

TEST(CacheDir, RelativeIsMadeAbsoluteAndNothingSetIsAnError) {
  auto relative = resolve_cache_root("", "rel/cache", "", "");
  ASSERT_TRUE(relative);
  EXPECT_TRUE(relative->is_absolute());
  EXPECT_EQ(relative->filename(), "cache");
  auto none = resolve_cache_root("", "", "", "");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("STRATA_CACHE_DIR"), std::string::npos);
}

}  // namespace
}  // namespace strata::env
