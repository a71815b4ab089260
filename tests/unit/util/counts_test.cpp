#include "util/counts.hpp"

#include <gtest/gtest.h>

namespace strata::util {
namespace {

TEST(Counts, CountedAgreesInNumberWithThousandsSeparators) {
  EXPECT_EQ(counted(0, "package"), "0 packages");
  EXPECT_EQ(counted(1, "package"), "1 package");
  EXPECT_EQ(counted(2, "package"), "2 packages");
  EXPECT_EQ(counted(6108, "file"), "6,108 files");
  EXPECT_EQ(counted(1, "local build"), "1 local build");
  EXPECT_EQ(thousands(0), "0");
  EXPECT_EQ(thousands(999), "999");
  EXPECT_EQ(thousands(1000), "1,000");
  EXPECT_EQ(thousands(1234567), "1,234,567");
}

TEST(Counts, HumanSizeInBinaryUnits) {
  EXPECT_EQ(human_size(0), "0 B");
  EXPECT_EQ(human_size(1023), "1023 B");
  EXPECT_EQ(human_size(1024), "1.0 KiB");
  EXPECT_EQ(human_size(15833498), "15.1 MiB");
  EXPECT_EQ(human_size(3ull << 30), "3.0 GiB");
}

}  // namespace
}  // namespace strata::util
