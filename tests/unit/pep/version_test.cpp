#include "pep/version.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace strata::pep {
namespace {

// Expected values below were checked against packaging 26.3.

Version v(std::string_view text) {
  auto parsed = Version::parse(text);
  EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error().message);
  return parsed ? *parsed : Version::from_parts(0, {0});
}

TEST(Version, NormalizesEverySpelling) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1.0.post1.dev2+local.7", "1.0.post1.dev2+local.7"},
      {"1.0-1", "1.0.post1"},
      {"v1.0", "1.0"},
      {"V1.0", "1.0"},
      {"1!2.0", "1!2.0"},
      {"0!2.0", "2.0"},
      {"1.0a", "1.0a0"},
      {"1.0.RC1", "1.0rc1"},
      {"1.0+ubuntu-1", "1.0+ubuntu.1"},
      {"1.0+UBUNTU.01", "1.0+ubuntu.1"},
      {"1.0_a_1", "1.0a1"},
      {"1.0.a.1", "1.0a1"},
      {"1.0alpha", "1.0a0"},
      {"1.0beta2", "1.0b2"},
      {"1.0c1", "1.0rc1"},
      {"1.0pre1", "1.0rc1"},
      {"1.0preview2", "1.0rc2"},
      {"1.0rev", "1.0.post0"},
      {"1.0r", "1.0.post0"},
      {"1.0-post-3", "1.0.post3"},
      {"1.0-dev", "1.0.dev0"},
      {"1.0a-", "1.0a0"},
      {"1.0.post.", "1.0.post0"},
      {"01.02.0003", "1.2.3"},
      {"  \t1.0\n", "1.0"},
      {"\xe3\x80\x80"
       "1.0\xc2\xa0",
       "1.0"},  // U+3000 and U+00A0 are whitespace to Python
      {"1.0RC1.POST2.DEV3+ABC.Def", "1.0rc1.post2.dev3+abc.def"},
      {"18446744073709551615", "18446744073709551615"},
  };
  for (const auto& [text, normalized] : cases) EXPECT_EQ(v(text).str(), normalized) << text;
}

TEST(Version, RejectsInvalidStringsNamingThem) {
  for (std::string text :
       {"",       " ",          "foo",         "1..0",         ".1",        "1.",      "v",
        "vv1.0",  "1.0v",       "1!",          "!1",           "1!2!3",     "1.0+",    "1.0+a..b",
        "1.0+a.", "1.0+_a",     "1.0++a",      "1.0+\xc3\xa9", "1.0 a1",    "1.0-1-1", "1.0prev1",
        "1.0.*",  "1.0.dev1a1", "1.0.post1a1", "1\xd9\xa1",    "1.0-+local"}) {
    auto parsed = Version::parse(text);
    ASSERT_FALSE(parsed) << text << " parsed as " << parsed->str();
    EXPECT_EQ(parsed.error().kind, ErrorKind::usage);
    EXPECT_NE(parsed.error().message.find("'" + text + "'"), std::string::npos) << parsed.error().message;
  }
}

TEST(Version, NumbersBeyond64BitsAreAnErrorThatSaysSo) {
  for (std::string text : {"18446744073709551616", "1.0+18446744073709551616", "1.0a99999999999999999999"}) {
    auto parsed = Version::parse(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message.find("does not fit in 64 bits"), std::string::npos)
        << parsed.error().message;
  }
}

TEST(Version, ExposesItsParts) {
  Version x = v("2!1.2.3rc4.post5.dev6+Ubuntu-7");
  EXPECT_EQ(x.epoch(), 2u);
  EXPECT_EQ(x.release(), (std::vector<std::uint64_t>{1, 2, 3}));
  ASSERT_TRUE(x.pre());
  EXPECT_EQ(x.pre()->kind, "rc");
  EXPECT_EQ(x.pre()->number, 4u);
  EXPECT_EQ(x.post(), 5u);
  EXPECT_EQ(x.dev(), 6u);
  ASSERT_EQ(x.local().size(), 2u);
  EXPECT_EQ(std::get<std::string>(x.local()[0]), "ubuntu");
  EXPECT_EQ(std::get<std::uint64_t>(x.local()[1]), 7u);
  EXPECT_EQ(x.local_str(), "ubuntu.7");
  EXPECT_EQ(x.public_version().str(), "2!1.2.3rc4.post5.dev6");
  EXPECT_EQ(x.base_version().str(), "2!1.2.3");
  EXPECT_TRUE(x.is_prerelease());
  EXPECT_TRUE(x.is_postrelease());
  EXPECT_TRUE(x.is_devrelease());
  EXPECT_FALSE(v("1.0.post1").is_prerelease());
  EXPECT_TRUE(v("1.0.dev1").is_prerelease());
  EXPECT_EQ(v("1.0.0").canonical_str(), "1");
  EXPECT_EQ(v("0.0").canonical_str(), "0");
  EXPECT_EQ(v("1.0.0.post1+x").canonical_str(), "1.post1+x");
}

TEST(Version, OrdersAsPackaging) {
  // Strictly increasing, per packaging's _cmpkey.
  const std::vector<std::string> ascending = {"0.dev0",      "0",
                                              "1.0.dev0",    "1.0a1.dev1",
                                              "1.0a1",       "1.0a1.post1.dev1",
                                              "1.0a1.post1", "1.0b1",
                                              "1.0rc1",      "1.0",
                                              "1.0+abc",     "1.0+abc.1",
                                              "1.0+1",       "1.0+2",
                                              "1.0+10",      "1.0.post1.dev1",
                                              "1.0.post1",   "1.0.1",
                                              "1.1.dev0",    "2",
                                              "1!0.1"};
  for (std::size_t i = 0; i + 1 < ascending.size(); ++i) {
    EXPECT_LT(v(ascending[i]), v(ascending[i + 1])) << ascending[i] << " < " << ascending[i + 1];
    EXPECT_GT(v(ascending[i + 1]), v(ascending[i]));
  }
}

TEST(Version, EqualityIgnoresTrailingZerosAndSpelling) {
  EXPECT_EQ(v("1.0.0"), v("1"));
  EXPECT_EQ(v("1.0a"), v("1a0"));
  EXPECT_EQ(v("1.0+ABC"), v("1.0+abc"));
  EXPECT_EQ(v("1.0+01"), v("1.0+1"));
  EXPECT_EQ(v("1.0-1"), v("1.0.post1"));
  EXPECT_NE(v("1.0"), v("1.0+0"));
  EXPECT_NE(v("1.0"), v("0!1.0.post0"));
  EXPECT_LT(v("1.0+a.1"), v("1.0+a.1.0"));
}

}  // namespace
}  // namespace strata::pep
