#include "pep/specifier.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace strata::pep {
namespace {

// Expected values below were checked against packaging 26.3.

SpecifierSet set(std::string_view text, std::optional<bool> prereleases = std::nullopt) {
  auto parsed = SpecifierSet::parse(text, prereleases);
  EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error().message);
  return parsed ? *parsed : SpecifierSet{};
}

Version ver(std::string_view text) {
  auto parsed = Version::parse(text);
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : Version::from_parts(0, {0});
}

struct Case {
  std::string spec;
  std::string version;
  bool by_default;           // contains(v)
  bool without_prereleases;  // contains(v, prereleases=false)
};

TEST(Specifier, ContainsFollowsEveryOperatorRule) {
  const std::vector<Case> cases = {
      {"~=2.2.0", "2.2.9", true, true},
      {"~=2.2.0", "2.3", false, false},
      {"~=2.2", "2.9", true, true},
      {"~=2.2", "3.0", false, false},
      {"~=2.2", "3.0.dev0", false, false},
      {"~=2.2.post1", "2.2", false, false},
      {"~=2.2.post1", "2.2.post2", true, true},
      {"==1.*", "1.0", true, true},
      {"==1.*", "1", true, true},
      {"==1.*", "2.0.dev0", false, false},
      {"==1.*", "1.9a1", true, false},
      {"==1.*", "0.9", false, false},
      {"==1.0.*", "1", true, true},
      {"!=1.*", "1.5", false, false},
      {"!=1.*", "2.0", true, true},
      {"!=1.*", "2.0a1", true, false},
      {">1.7", "1.7.1", true, true},
      {">1.7", "1.7.post1", false, false},  // > excludes the post-releases of its version
      {">1.7", "1.7+local", false, false},
      {">1.7", "1.8.dev0", true, false},
      {">1.7.post2", "1.7.1", true, true},
      {">1.7.post2", "1.7.0.post3", true, true},
      {">1.7.post2", "1.7.post2", false, false},
      {">1.7.post2", "1.7.post3.dev0", true, false},
      {">1.0.dev1", "1.0.dev1", false, false},
      {">1.0.dev1", "1.0.dev2", true, false},
      {"<1.7", "1.7.0rc1", false, false},  // < excludes the pre-releases of its version
      {"<1.7", "1.7.dev0", false, false},
      {"<1.7", "1.6", true, true},
      {"<1.7", "1.6.post1", true, true},
      {"<1.7rc2", "1.7rc1", true, false},
      {"<=1.7", "1.7+abc", true, true},
      {"<=1.7", "1.7.post1", false, false},
      {"==1.0", "1.0+abc", true, true},  // no local in the clause: any local matches
      {"==1.0+abc", "1.0", false, false},
      {"==1.0+abc", "1.0+ABC", true, true},
      {"!=1.0", "1.0+x", false, false},
      {"!=1.0+x", "1.0", true, true},
      {">=1.0", "2.0a1", true, false},  // packaging 26: pre-releases match unless told not to
      {"===1.0", "1.0", true, true},
      {"===1.0", "1.0.0", false, false},
      {"===Foo", "foo", true, true},
  };
  for (const Case& c : cases) {
    auto spec = Specifier::parse(c.spec);
    ASSERT_TRUE(spec) << c.spec;
    EXPECT_EQ(spec->contains_text(c.version), c.by_default) << c.spec << " contains " << c.version;
    EXPECT_EQ(spec->contains_text(c.version, false), c.without_prereleases)
        << c.spec << " contains " << c.version << " (prereleases=false)";
    // The set form, with a Version object where the text is one.
    auto parsed = Version::parse(c.version);
    SpecifierSet as_set = set(c.spec);
    for (std::optional<bool> pre : {std::optional<bool>{}, std::optional<bool>{false}}) {
      bool got = parsed ? as_set.contains(*parsed, pre) : as_set.contains_text(c.version, pre);
      EXPECT_EQ(got, pre ? c.without_prereleases : c.by_default)
          << c.spec << " (set) contains " << c.version << (pre ? " (prereleases=false)" : "");
    }
  }
}

TEST(Specifier, ParsesOperatorAndVersion) {
  auto spec = Specifier::parse("  ~=  2.2.0 ");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->op(), "~=");
  EXPECT_EQ(spec->version_text(), "2.2.0");
  EXPECT_EQ(spec->str(), "~=2.2.0");
  auto arbitrary = Specifier::parse("====1");
  ASSERT_TRUE(arbitrary);
  EXPECT_EQ(arbitrary->op(), "===");
  EXPECT_EQ(arbitrary->version_text(), "=1");
  EXPECT_EQ(Specifier::parse("==1.0RC1")->str(), "==1.0RC1");  // kept as written
}

TEST(Specifier, RejectsInvalidClausesNamingThem) {
  for (std::string text :
       {"",           "1.0",     "=1.0",       "==",        ">=",     "~=1",     "~=1.0+local",
        "~=1.0.*",    ">=1.0.*", "<1.0+local", "==1.0a1.*", "==1.0;", "===1.0;", "===a)b",
        "===1.0 1.0", "<>1.0",   ">==1.0",     "== 1. *",   "==1.0+", "lolwat"}) {
    auto spec = Specifier::parse(text);
    ASSERT_FALSE(spec) << text << " parsed as " << spec->str();
    EXPECT_EQ(spec.error().kind, ErrorKind::usage);
    EXPECT_NE(spec.error().message.find("'" + text + "'"), std::string::npos) << spec.error().message;
  }
  auto bad_set = SpecifierSet::parse(">=1.0, lolwat");
  ASSERT_FALSE(bad_set);
  EXPECT_NE(bad_set.error().message.find("'lolwat'"), std::string::npos) << bad_set.error().message;
}

TEST(Specifier, PrereleasesProperty) {
  EXPECT_FALSE(Specifier::parse(">=1.0")->prereleases());
  EXPECT_TRUE(Specifier::parse(">=1.0a1")->prereleases());
  EXPECT_TRUE(Specifier::parse("<=1.0.dev1")->prereleases());
  EXPECT_FALSE(Specifier::parse("!=1.0a1")->prereleases());
  EXPECT_FALSE(Specifier::parse("==1.*")->prereleases());
  EXPECT_FALSE(Specifier::parse("===foo")->prereleases());
  EXPECT_EQ(set(">=1.0").prereleases(), std::nullopt);
  EXPECT_EQ(set(">=1.0a1").prereleases(), true);
  EXPECT_EQ(set("!=1.0a1").prereleases(), std::nullopt);
  EXPECT_EQ(set("").prereleases(), std::nullopt);
  EXPECT_EQ(set(">=1.0", false).prereleases(), false);
}

TEST(SpecifierSet, StrSortsAndDeduplicatesAsPackaging) {
  EXPECT_EQ(set(">=1.0, !=1.5 ,<2").str(), "!=1.5,<2,>=1.0");
  EXPECT_EQ(set("==1.0,==1.0.0,~=1.0.0,~=1.0").str(), "==1.0,~=1.0,~=1.0.0");
  EXPECT_EQ(set("==v1.0,==1.0").str(), "==1.0");
  EXPECT_EQ(set("").str(), "");
  EXPECT_EQ(set(" , ,").str(), "");
  EXPECT_TRUE(set(" , ,").empty());
  EXPECT_EQ(set("===Foo,===foo").str(), "===Foo,===foo");  // === keeps case in equality
}

TEST(SpecifierSet, ContainsIntersectsClauses) {
  EXPECT_TRUE(set(">=1.0,!=1.5.*,<2").contains(ver("1.4")));
  EXPECT_FALSE(set(">=1.0,!=1.5.*,<2").contains(ver("1.5.2")));
  EXPECT_FALSE(set(">=1.0,<2").contains(ver("2.0a1")));  // <2 excludes 2's pre-releases
  EXPECT_TRUE(set(">=1.0,<2").contains(ver("1.5a1")));
  EXPECT_FALSE(set(">=1.0,<2").contains(ver("1.5a1"), false));
  EXPECT_FALSE(set(">=1.0,<1.0").contains(ver("1.0")));
  EXPECT_FALSE(set("!=1.0,!=1.0.post1,>=1.0,<=1.0.post1").contains(ver("1.0+x")));
  EXPECT_TRUE(set("~=1.4.5,!=1.4.7").contains(ver("1.4.6+local")));
  EXPECT_FALSE(set("~=1.4.5,!=1.4.7").contains(ver("1.4.7+local")));
}

TEST(SpecifierSet, PrereleaseFlags) {
  // The argument wins; unset defers to the set's flag; only an effective false rejects.
  EXPECT_TRUE(set(">=1.0").contains(ver("2.0a1")));
  EXPECT_FALSE(set(">=1.0", false).contains(ver("2.0a1")));
  EXPECT_TRUE(set(">=1.0", false).contains(ver("2.0a1"), true));
  EXPECT_FALSE(set(">=1.0", true).contains(ver("2.0a1"), false));
  EXPECT_TRUE(set("").contains(ver("1.0a1")));
  EXPECT_FALSE(set("").contains(ver("1.0a1"), false));
  EXPECT_TRUE(set("", false).contains(ver("1.0")));
}

TEST(SpecifierSet, ArbitraryEqualityComparesText) {
  EXPECT_TRUE(set("===1.0").contains_text("1.0"));
  EXPECT_FALSE(set("===1.0").contains_text(" 1.0"));  // a string is compared as given
  EXPECT_TRUE(set("===1.0").contains(ver(" 1.0")));   // a Version by its normalized str()
  EXPECT_FALSE(set("===1.0").contains(ver("1.0.0")));
  EXPECT_TRUE(set("===FOO-bar").contains_text("foo-BAR"));
  EXPECT_TRUE(set("===CAF\xc3\x89").contains_text("caf\xc3\xa9"));  // str.lower() beyond ASCII
  EXPECT_FALSE(set("===foo,>=1").contains_text("foo"));             // other clauses need a version
  EXPECT_TRUE(set("").contains_text("not a version"));              // an empty set admits anything
  EXPECT_FALSE(set(">=1").contains_text("not a version"));
  EXPECT_TRUE(Specifier::parse("===")->contains_text(""));
}

}  // namespace
}  // namespace strata::pep
