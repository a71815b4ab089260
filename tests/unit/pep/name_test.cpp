// Hand-written name and file name cases; expected answers were computed with packaging 26.3.

#include "pep/name.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strata::pep {
namespace {

std::vector<std::string> tag_texts(const WheelFilename& wheel) {
  std::vector<std::string> out;
  for (const Tag& tag : wheel.tags) out.push_back(tag.str());
  return out;
}

TEST(Name, NormalizeCollapsesSeparatorRuns) {
  EXPECT_EQ(normalize_name("Django"), "django");
  EXPECT_EQ(normalize_name("oslo.concurrency"), "oslo-concurrency");
  EXPECT_EQ(normalize_name("Foo--Bar"), "foo-bar");
  EXPECT_EQ(normalize_name("foo-_.-bar"), "foo-bar");
  EXPECT_EQ(normalize_name("_not_legal"), "-not-legal");
}

TEST(Name, Validity) {
  EXPECT_TRUE(is_valid_name("a"));
  EXPECT_TRUE(is_valid_name("Foo.Bar_baz-1"));
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name("-foo"));
  EXPECT_FALSE(is_valid_name("foo_"));
  EXPECT_FALSE(is_valid_name("foo bar"));
}

TEST(WheelFilename, ExpandsCompressedTagSetsInOrder) {
  auto wheel = WheelFilename::parse("numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
  ASSERT_TRUE(wheel) << wheel.error().message;
  EXPECT_EQ(wheel->name, "numpy");
  EXPECT_EQ(wheel->version.str(), "2.1.0");
  EXPECT_FALSE(wheel->build.has_value());
  EXPECT_EQ(tag_texts(*wheel), (std::vector<std::string>{"cp311-cp311-manylinux_2_17_x86_64",
                                                         "cp311-cp311-manylinux2014_x86_64"}));

  auto pure = WheelFilename::parse("foo-1.0-1build-py2.py3-none-any.whl");
  ASSERT_TRUE(pure);
  ASSERT_TRUE(pure->build.has_value());
  EXPECT_EQ(pure->build->first, 1u);
  EXPECT_EQ(pure->build->second, "build");
  EXPECT_EQ(tag_texts(*pure), (std::vector<std::string>{"py2-none-any", "py3-none-any"}));
}

TEST(WheelFilename, NormalizesNameAndLowercasesTags) {
  auto wheel = WheelFilename::parse("Foo.Bar-1.0-PY3-none-any.whl");
  ASSERT_TRUE(wheel);
  EXPECT_EQ(wheel->name, "foo-bar");
  EXPECT_EQ(tag_texts(*wheel), (std::vector<std::string>{"py3-none-any"}));
}

TEST(WheelFilename, RejectsWhatPackagingRejects) {
  auto expect_error = [](const std::string& filename, const std::string& message) {
    auto wheel = WheelFilename::parse(filename);
    ASSERT_FALSE(wheel) << filename;
    EXPECT_EQ(wheel.error().message, message);
  };
  expect_error("foo__bar-1.0-py3-none-any.whl", "Invalid project name: 'foo__bar-1.0-py3-none-any'");
  expect_error("foo-1.0-py3-none-any.zip",
               "Invalid wheel filename (extension must be '.whl'): 'foo-1.0-py3-none-any.zip'");
  expect_error("foo-1.0-none-any.whl", "Invalid wheel filename (wrong number of parts): 'foo-1.0-none-any'");
  expect_error("foo-x-py3-none-any.whl", "Invalid wheel filename (invalid version): 'foo-x-py3-none-any'");
  expect_error("foo-1.0-b1-py3-none-any.whl", "Invalid build number: b1 in 'foo-1.0-b1-py3-none-any'");
  expect_error("foo-1.0-3py-none-any.whl",
               "Invalid wheel filename (invalid tag component): 'foo-1.0-3py-none-any'");
  expect_error("foo-1.0-py3..py2-none-any.whl",
               "Invalid wheel filename (invalid tag component): 'foo-1.0-py3..py2-none-any'");
}

TEST(SdistFilename, ParsesTarGzAndZip) {
  auto tar = SdistFilename::parse("Foo_Bar-2.0rc1.tar.gz");
  ASSERT_TRUE(tar);
  EXPECT_EQ(tar->name, "foo-bar");
  EXPECT_EQ(tar->version.str(), "2.0rc1");
  auto zip = SdistFilename::parse("foo-bar-1.0.zip");
  ASSERT_TRUE(zip);
  EXPECT_EQ(zip->name, "foo-bar");
  EXPECT_EQ(zip->version.str(), "1.0");
}

TEST(SdistFilename, RejectsWhatPackagingRejects) {
  EXPECT_EQ(SdistFilename::parse("foo.tar.gz").error().message, "Invalid sdist filename: 'foo.tar.gz'");
  EXPECT_EQ(SdistFilename::parse("-1.0.zip").error().message,
            "Invalid sdist filename (empty project name): '-1.0.zip'");
  EXPECT_EQ(SdistFilename::parse("foo-1.0.tar.bz2").error().message,
            "Invalid sdist filename (extension must be '.tar.gz' or '.zip'): 'foo-1.0.tar.bz2'");
  EXPECT_EQ(SdistFilename::parse("foo-bad.tar.gz").error().message,
            "Invalid sdist filename (invalid version): 'foo-bad.tar.gz'");
}

}  // namespace
}  // namespace strata::pep
