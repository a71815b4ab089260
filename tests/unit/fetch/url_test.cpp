#include "fetch/url.hpp"

#include <gtest/gtest.h>

namespace strata::fetch {
namespace {

TEST(Url, ProjectPageHasOneSlashEachSide) {
  EXPECT_EQ(project_page_url("https://pypi.org/simple", "numpy"), "https://pypi.org/simple/numpy/");
  EXPECT_EQ(project_page_url("https://pypi.org/simple//", "numpy"), "https://pypi.org/simple/numpy/");
}

}  // namespace
}  // namespace strata::fetch
