#include "fetch/url.hpp"

#include <gtest/gtest.h>

namespace strata::fetch {
namespace {

TEST(Url, RedactReplacesUserinfo) {
  EXPECT_EQ(redact_url("https://user:s3cret@example.com/simple/"), "https://***@example.com/simple/");
  EXPECT_EQ(redact_url("https://token@example.com/x"), "https://***@example.com/x");
  EXPECT_EQ(redact_url("https://example.com/simple/"), "https://example.com/simple/");
}

TEST(Url, StripUserinfoAlsoDropsFragment) {
  EXPECT_EQ(strip_userinfo("https://u:p@h.example:8443/a/b.whl?x=1#sha256=ab"),
            "https://h.example:8443/a/b.whl?x=1");
}

TEST(Url, UserinfoIsPercentDecoded) {
  auto info = url_userinfo("https://us%40er:p%3Ass@example.com/");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->username, "us@er");
  EXPECT_EQ(info->password, "p:ss");
  EXPECT_FALSE(url_userinfo("https://example.com/"));
}

TEST(Url, OriginFillsDefaultPorts) {
  EXPECT_EQ(url_origin("https://Example.COM/x"), "example.com:443");
  EXPECT_EQ(url_origin("http://example.com/x"), "example.com:80");
  EXPECT_EQ(url_origin("http://u:p@127.0.0.1:8080/x"), "127.0.0.1:8080");
  EXPECT_EQ(url_hostname("http://u:p@[::1]:8080/x"), "::1");
}

TEST(Url, ResolvesRelativeReferencesLikeABrowser) {
  const std::string base = "http://127.0.0.1:8080/simple/numpy/";
  EXPECT_EQ(resolve_url(base, "../../packages/numpy-2.whl#sha256=ab"),
            "http://127.0.0.1:8080/packages/numpy-2.whl#sha256=ab");
  EXPECT_EQ(resolve_url(base, "/packages/a.whl"), "http://127.0.0.1:8080/packages/a.whl");
  EXPECT_EQ(resolve_url(base, "a.whl"), "http://127.0.0.1:8080/simple/numpy/a.whl");
  EXPECT_EQ(resolve_url(base, "https://files.example/a.whl"), "https://files.example/a.whl");
  EXPECT_EQ(resolve_url(base, "//cdn.example/a.whl"), "http://cdn.example/a.whl");
  EXPECT_EQ(resolve_url("http://h/simple/numpy", "a.whl"), "http://h/simple/a.whl");
  EXPECT_EQ(resolve_url("http://h/a/b/c", "./"), "http://h/a/b/");
  EXPECT_EQ(resolve_url("http://h/a/b/c", "?q"), "http://h/a/b/c?q");
}

TEST(Url, ProjectPageHasOneSlashEachSide) {
  EXPECT_EQ(project_page_url("https://pypi.org/simple", "numpy"), "https://pypi.org/simple/numpy/");
  EXPECT_EQ(project_page_url("https://pypi.org/simple//", "numpy"), "https://pypi.org/simple/numpy/");
}

}  // namespace
}  // namespace strata::fetch
