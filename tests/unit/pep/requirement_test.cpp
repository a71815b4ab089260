// Hand-written requirement cases; expected answers were computed with the pinned packaging 26.3.

#include "pep/requirement.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strata::pep {
namespace {

TEST(Requirement, ParsesAllParts) {
  auto req = Requirement::parse("requests[socks,Security]>=2.8.1,<3 ; python_version < '3.10'");
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->name, "requests");
  EXPECT_EQ(req->extras, (std::vector<std::string>{"Security", "socks"}));
  EXPECT_EQ(req->specifier.str(), "<3,>=2.8.1");
  EXPECT_EQ(req->url, "");
  ASSERT_TRUE(req->marker.has_value());
  EXPECT_EQ(req->marker->str(), R"(python_version < "3.10")");
  EXPECT_EQ(req->str(), R"(requests[Security,socks]<3,>=2.8.1; python_version < "3.10")");
}

TEST(Requirement, SpecifierWithOrWithoutParentheses) {
  EXPECT_EQ(Requirement::parse("name (>=1.0, <2)")->str(), "name<2,>=1.0");
  EXPECT_EQ(Requirement::parse("name>=1.0,<2")->str(), "name<2,>=1.0");
  EXPECT_EQ(Requirement::parse("  name  [ b , a ]  ( == 1.0 )  ")->str(), "name[a,b]==1.0");
  EXPECT_EQ(Requirement::parse("foo==1.0.*")->str(), "foo==1.0.*");
  EXPECT_EQ(Requirement::parse("foo===weird")->str(), "foo===weird");
  EXPECT_EQ(Requirement::parse("foo==1.0,")->str(), "foo==1.0");
}

TEST(Requirement, ExtrasAreDeduplicatedAndSortedButNotNormalized) {
  auto req = Requirement::parse("Foo_Bar[A,a,A]");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->name, "Foo_Bar");
  EXPECT_EQ(req->extras, (std::vector<std::string>{"A", "a"}));
  EXPECT_EQ(req->str(), "Foo_Bar[A,a]");
}

TEST(Requirement, Urls) {
  auto req = Requirement::parse("pkg @ https://x.example/p.whl ; os_name=='posix'");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->url, "https://x.example/p.whl");
  EXPECT_TRUE(req->specifier.empty());
  EXPECT_EQ(req->str(), R"(pkg @ https://x.example/p.whl ; os_name == "posix")");
  // Without whitespace the semicolon belongs to the URL.
  auto glued = Requirement::parse("pkg@https://x;y");
  ASSERT_TRUE(glued);
  EXPECT_EQ(glued->url, "https://x;y");
  EXPECT_FALSE(glued->marker.has_value());
  EXPECT_EQ(glued->str(), "pkg @ https://x;y");
}

TEST(Requirement, ExtraInMarkerIsNormalized) {
  auto req = Requirement::parse("foo; extra == 'Foo_Bar'");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->str(), R"(foo; extra == "foo-bar")");
}

TEST(Requirement, ErrorsQuoteTheTextAndColumn) {
  auto expect_error = [](const std::string& text, const std::string& message) {
    auto req = Requirement::parse(text);
    ASSERT_FALSE(req) << text;
    EXPECT_EQ(req.error().kind, ErrorKind::usage);
    EXPECT_EQ(req.error().message, message) << text;
  };
  expect_error("foo>=1.0.*",
               ".* suffix can only be used with `==` or `!=` operators\n    foo>=1.0.*\n       ~~~~~~^");
  expect_error("foo==1.0+local.*",
               ".* suffix cannot be used with pre-release, post-release, dev or local versions\n"
               "    foo==1.0+local.*\n       ~~~~~~~~~~~~^");
  expect_error("foo>=1+local",
               "Local version label can only be used with `==` or `!=` operators\n"
               "    foo>=1+local\n       ~~~^");
  expect_error("foo[bar",
               "Expected matching RIGHT_BRACKET for LEFT_BRACKET, after extras\n    foo[bar\n       ~~~~^");
  expect_error("foo bar",
               "Expected semicolon (after name with no version specifier) or end\n    foo bar\n        ^");
  expect_error("1foo-",
               "Expected semicolon (after name with no version specifier) or end\n    1foo-\n        ^");
  expect_error("foo @ https://x bar",
               "Expected semicolon (after URL and whitespace) or end\n"
               "    foo @ https://x bar\n          ~~~~~~~~~~^");
  expect_error("", "Expected package name at the start of dependency specifier\n    \n    ^");
  expect_error("foo;", "Expected a marker variable or quoted string\n    foo;\n        ^");
}

}  // namespace
}  // namespace strata::pep
