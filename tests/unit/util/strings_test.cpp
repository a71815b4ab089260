#include "util/strings.hpp"

#include <gtest/gtest.h>

namespace strata::util {
namespace {

TEST(Strings, TrimRemovesAsciiWhitespaceOnBothSides) {
  EXPECT_EQ(trim(" \t a b \n"), "a b");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("   "), "");
}

TEST(Strings, SplitKeepsEmptyPieces) {
  auto parts = split("a,,b,", ',');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0], "a");
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(parts[2], "b");
  EXPECT_EQ(parts[3], "");
}

TEST(Strings, ParseUintRejectsJunkAndOverflow) {
  EXPECT_EQ(parse_uint("0012"), 12u);
  EXPECT_FALSE(parse_uint(""));
  EXPECT_FALSE(parse_uint("1a"));
  EXPECT_FALSE(parse_uint("-1"));
  EXPECT_FALSE(parse_uint("99999999999999999999999"));
}

TEST(Strings, CaseHelpers) {
  EXPECT_EQ(to_lower("AbC-9"), "abc-9");
  EXPECT_TRUE(iequals("Foo_Bar", "fOO_bAR"));
  EXPECT_FALSE(iequals("Foo", "Fo"));
}

}  // namespace
}  // namespace strata::util
