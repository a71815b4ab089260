#include "util/url.hpp"

#include <gtest/gtest.h>

namespace strata::util {
namespace {

TEST(Url, RedactReplacesUserinfo) {
  EXPECT_EQ(redact_url("https://user:s3cret@example.com/simple/"), "https://***@example.com/simple/");
  EXPECT_EQ(redact_url("https://token@example.com/x"), "https://***@example.com/x");
  EXPECT_EQ(redact_url("https://example.com/simple/"), "https://example.com/simple/");
  EXPECT_EQ(redact_url("http://u:p@[::1]:8080/x"), "http://***@[::1]:8080/x");
  EXPECT_EQ(redact_url("six-1.16.0-py2.py3-none-any.whl"), "six-1.16.0-py2.py3-none-any.whl");
}

TEST(Url, RedactHidesCredentialQueryValues) {
  EXPECT_EQ(redact_url("https://b.s3.amazonaws.com/a.whl?X-Amz-Credential=AKIA%2F1&X-Amz-Date=20240101"
                       "&X-Amz-Signature=abc123&X-Amz-Security-Token=tok"),
            "https://b.s3.amazonaws.com/a.whl?X-Amz-Credential=***&X-Amz-Date=20240101"
            "&X-Amz-Signature=***&X-Amz-Security-Token=***");
  EXPECT_EQ(redact_url("https://h/a.whl?sv=2022&sig=SeCrEt&se=2030#sha256=ab"),
            "https://h/a.whl?sv=2022&sig=***&se=2030#sha256=ab");
  EXPECT_EQ(redact_url("https://h/x?private_token=1&access_token=2&api_key=3&apiKey=4&password=5&page=2"),
            "https://h/x?private_token=***&access_token=***&api_key=***&apiKey=***&password=***&page=2");
  EXPECT_EQ(redact_url("https://h/x?design=1&keys=2&flag"), "https://h/x?design=1&keys=2&flag");
}

TEST(Url, RedactHidesAPasswordWithAnUnescapedDelimiter) {
  // The authority ends at the "/" or "#", so RFC 3986 sees no userinfo, only a bad port.
  EXPECT_EQ(redact_url("https://user:pa/ss@host.example/simple/"), "https://***@host.example/simple/");
  EXPECT_EQ(redact_url("https://user:pa#ss@host.example/"), "https://***@host.example/");
  EXPECT_EQ(redact_url("https://user:pa?ss"), "https://***");
  EXPECT_EQ(redact_url("http://127.0.0.1:8080/simple/"), "http://127.0.0.1:8080/simple/");
}

TEST(Url, RedactsEveryUrlInText) {
  EXPECT_EQ(redact_urls_in("six: http://u:pw@127.0.0.1:9/six.whl: connection refused"),
            "six: http://***@127.0.0.1:9/six.whl: connection refused");
  EXPECT_EQ(redact_urls_in(R"({"url": "https://a:b@h/x?token=t", "b": "git+https://c:d@h/r.git"})"),
            R"({"url": "https://***@h/x?token=***", "b": "git+https://***@h/r.git"})");
  EXPECT_EQ(redact_urls_in("(see https://u:p@h/a) and 'ftp://x:y@h'"),
            "(see https://***@h/a) and 'ftp://***@h'");
  EXPECT_EQ(redact_urls_in("no url here: a://"), "no url here: a://");
  EXPECT_EQ(redact_urls_in("://u:p@h"), "://u:p@h");
  EXPECT_EQ(redact_urls_in(""), "");
}

TEST(Url, WithoutUserinfoKeepsTheRest) {
  EXPECT_EQ(without_userinfo("https://u:p@h.example:8080/x@y?a=b@c#f"), "https://h.example:8080/x@y?a=b@c#f");
  EXPECT_EQ(without_userinfo("https://h.example/simple"), "https://h.example/simple");
  EXPECT_EQ(without_userinfo("wheels/a@b.whl"), "wheels/a@b.whl");
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

}  // namespace
}  // namespace strata::util
