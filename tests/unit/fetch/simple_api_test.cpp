#include "fetch/simple_api.hpp"

#include <gtest/gtest.h>

namespace strata::fetch {
namespace {

TEST(SimpleApi, AcceptHeaderPrefersJson) {
  EXPECT_TRUE(std::string_view(kSimpleAccept).starts_with("application/vnd.pypi.simple.v1+json"));
  EXPECT_NE(std::string_view(kSimpleAccept).find("text/html;q=0.01"), std::string_view::npos);
}

TEST(SimpleApi, HtmlAnchorsWithHashesAndAttributes) {
  std::string body = R"(<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.0"><title>Links for demo</title></head>
<body><h1>Links for demo</h1>
<!-- <a href="commented.whl">commented.whl</a> -->
<a href="../../packages/demo-1.0-py3-none-any.whl#sha256=ABCDEF" data-requires-python="&gt;=3.8">demo-1.0-py3-none-any.whl</a><br/>
<A HREF='https://files.example/demo-1.0.tar.gz#md5=00' data-yanked="bad build">demo-1.0.tar.gz</A>
<a href="demo-2.0-py3-none-any.whl?x=1&amp;y=2" data-dist-info-metadata="sha256=ff">  demo-2.0-py3-none-any.whl  </a>
<a href="/nohash/demo-3.0-py3-none-any.whl"></a>
</body></html>)";
  auto page = parse_html_page(body, "http://127.0.0.1:8080/simple/demo/");
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->files.size(), 4u);
  const auto& a = page->files[0];
  EXPECT_EQ(a.filename, "demo-1.0-py3-none-any.whl");
  EXPECT_EQ(a.url, "http://127.0.0.1:8080/packages/demo-1.0-py3-none-any.whl");
  EXPECT_EQ(a.hashes.at("sha256"), "abcdef");
  EXPECT_EQ(a.requires_python, ">=3.8");
  EXPECT_FALSE(a.yanked);
  EXPECT_TRUE(page->files[1].yanked);
  EXPECT_EQ(page->files[1].url, "https://files.example/demo-1.0.tar.gz");
  EXPECT_EQ(page->files[2].filename, "demo-2.0-py3-none-any.whl");
  EXPECT_EQ(page->files[2].url, "http://127.0.0.1:8080/simple/demo/demo-2.0-py3-none-any.whl?x=1&y=2");
  EXPECT_TRUE(page->files[2].has_metadata);
  EXPECT_EQ(page->files[3].filename, "demo-3.0-py3-none-any.whl");
  EXPECT_NE(page->find("demo-1.0.tar.gz"), nullptr);
  EXPECT_EQ(page->find("missing.whl"), nullptr);
}

TEST(SimpleApi, HtmlBaseHrefChangesResolution) {
  std::string body = R"(<html><head><base href="https://mirror.example/files/"></head>
<body><a href="demo-1.0-py3-none-any.whl">demo-1.0-py3-none-any.whl</a></body></html>)";
  auto page = parse_html_page(body, "https://index.example/simple/demo/");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->files.size(), 1u);
  EXPECT_EQ(page->files[0].url, "https://mirror.example/files/demo-1.0-py3-none-any.whl");
}

TEST(SimpleApi, JsonPage) {
  std::string body = R"({"meta": {"api-version": "1.1"}, "name": "demo", "versions": ["1.0"],
    "files": [
      {"filename": "demo-1.0-py3-none-any.whl", "url": "../../packages/demo-1.0-py3-none-any.whl",
       "hashes": {"sha256": "ABCD"}, "requires-python": ">=3.8", "size": 1234, "core-metadata": {"sha256": "ee"}},
      {"filename": "demo-0.9.tar.gz", "url": "https://files.example/demo-0.9.tar.gz", "hashes": {},
       "yanked": "broken"}
    ]})";
  auto page = parse_project_page(body, "application/vnd.pypi.simple.v1+json", "http://h/simple/demo/");
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->files.size(), 2u);
  EXPECT_EQ(page->files[0].url, "http://h/packages/demo-1.0-py3-none-any.whl");
  EXPECT_EQ(page->files[0].hashes.at("sha256"), "abcd");
  EXPECT_EQ(page->files[0].size, 1234u);
  EXPECT_TRUE(page->files[0].has_metadata);
  EXPECT_EQ(page->files[0].requires_python, ">=3.8");
  EXPECT_TRUE(page->files[1].yanked);
}

TEST(SimpleApi, JsonErrorsNameThePage) {
  auto bad = parse_json_page("{not json", "http://h/simple/demo/");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("http://h/simple/demo/"), std::string::npos);
  auto future = parse_json_page(R"({"meta": {"api-version": "2.0"}, "files": []})", "http://h/simple/demo/");
  ASSERT_FALSE(future);
  EXPECT_NE(future.error().message.find("api-version 2.0"), std::string::npos);
}

TEST(SimpleApi, ContentTypePicksTheParser) {
  auto html = parse_project_page("<a href=\"x-1-py3-none-any.whl\">x-1-py3-none-any.whl</a>",
                                 "text/html; charset=utf-8", "http://h/simple/x/");
  ASSERT_TRUE(html);
  EXPECT_EQ(html->files.size(), 1u);
}

TEST(SimpleApi, HtmlUnescape) {
  EXPECT_EQ(html_unescape("&lt;3&amp;&gt;=2&#33;&#x41;&quot;&unknown;"), "<3&>=2!A\"&unknown;");
}

}  // namespace
}  // namespace strata::fetch
