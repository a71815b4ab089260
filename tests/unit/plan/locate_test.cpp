#include "plan/locate.hpp"

#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fetch/cache.hpp"
#include "fetch/hash.hpp"
#include "support/tempdir.hpp"
#include "unit/fetch/fake_transport.hpp"

namespace strata::plan {
namespace {

namespace fs = std::filesystem;
using fetch::testing::FakeTransport;
using fetch::testing::Reply;

std::string sha(std::string_view data) {
  fetch::Sha256 h;
  h.update(data);
  return h.hex_digest();
}

lock::Package hashed_package(std::string name, std::string version,
                             const std::vector<std::string>& contents) {
  lock::Package p;
  p.name = name;
  p.display_name = name;
  p.version_text = version;
  p.version = *pep::Version::parse(version);
  for (const auto& c : contents) p.artifacts.push_back(lock::hash_only_artifact("sha256", sha(c)));
  return p;
}

// A PEP 691 JSON page listing files with their sha256 and size.
std::string json_page(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out = R"({"meta": {"api-version": "1.1"}, "name": "x", "files": [)";
  bool first = true;
  for (const auto& [filename, content] : files) {
    if (!first) out += ",";
    first = false;
    out += fmt::format(
        R"({{"filename": "{}", "url": "../../files/{}", "hashes": {{"sha256": "{}"}}, "size": {}}})",
        filename, filename, sha(content), content.size());
  }
  return out + "]}";
}

constexpr const char* kJson = "application/vnd.pypi.simple.v1+json";
constexpr const char* kHtml = "text/html";

// A PEP 691 JSON page of one file with a requires-python.
std::string json_page_rp(const std::string& filename, const std::string& content, const std::string& rp) {
  return fmt::format(
      R"({{"meta": {{"api-version": "1.1"}}, "name": "x", "files": [{{"filename": "{}", "url": "../../files/{}", )"
      R"("hashes": {{"sha256": "{}"}}, "requires-python": "{}"}}]}})",
      filename, filename, sha(content), rp);
}

class LocateTest : public ::testing::Test {
 protected:
  strata::testing::TempDir dir;
  FakeTransport transport;
  fetch::CredentialResolver credentials{[](std::string_view) { return std::optional<std::string>(); }};
  lock::Lock lock;
  LocateStats stats;
  fetch::FetchOptions options() {
    fetch::FetchOptions o;
    o.cache_dir = dir.path() / "cache";
    o.index_url = "http://idx/simple/";
    return o;
  }
};

TEST_F(LocateTest, HashOnlyArtifactsBecomeTheIndexFilesWithThoseHashes) {
  transport.script("http://idx/simple/demo/",
                   {{200, fetch::TransferStatus::ok,
                     json_page({{"demo-1.0-py3-none-any.whl", "pure"},
                                {"demo-1.0-cp311-cp311-linux_x86_64.whl", "binary"},
                                {"demo-1.0.tar.gz", "source"},
                                {"demo-0.9-py3-none-any.whl", "old"}}),
                     kJson}});
  std::vector<lock::Package> packages{hashed_package("demo", "1.0", {"source", "pure", "unlisted"})};
  ASSERT_TRUE(needs_locating(packages));
  auto ok = locate_hashed_artifacts(packages, lock, options(), transport, credentials, stats);
  ASSERT_TRUE(ok) << ok.error().message;
  const auto& artifacts = packages[0].artifacts;
  ASSERT_EQ(artifacts.size(), 2u);  // the lock's order; the hash found nowhere is dropped
  EXPECT_EQ(artifacts[0].filename, "demo-1.0.tar.gz");
  EXPECT_EQ(artifacts[0].kind, lock::Artifact::Kind::sdist);
  EXPECT_EQ(artifacts[0].url, "http://idx/files/demo-1.0.tar.gz");
  EXPECT_EQ(artifacts[1].filename, "demo-1.0-py3-none-any.whl");
  EXPECT_EQ(artifacts[1].kind, lock::Artifact::Kind::wheel);
  EXPECT_EQ(artifacts[1].size, 4u);
  EXPECT_EQ(artifacts[1].hashes.at("sha256"), sha("pure"));
  EXPECT_FALSE(needs_locating(packages));
  EXPECT_EQ(stats.located, 2u);
  EXPECT_EQ(stats.pages, 1u);
  ASSERT_EQ(stats.notes.size(), 1u);
  EXPECT_NE(stats.notes[0].find("1 of the lock's hashes match no file"), std::string::npos) << stats.notes[0];
}

TEST_F(LocateTest, EarlierMatchesAreCachedSoOfflineNeedsNoIndex) {
  transport.script("http://idx/simple/demo/", {{200, fetch::TransferStatus::ok,
                                                json_page({{"demo-1.0-py3-none-any.whl", "pure"}}), kJson}});
  std::vector<lock::Package> first{hashed_package("demo", "1.0", {"pure"})};
  ASSERT_TRUE(locate_hashed_artifacts(first, lock, options(), transport, credentials, stats));
  EXPECT_EQ(transport.requests.size(), 1u);

  auto offline = options();
  offline.offline = true;
  std::vector<lock::Package> again{hashed_package("demo", "1.0", {"pure"})};
  LocateStats second;
  auto ok = locate_hashed_artifacts(again, lock, offline, transport, credentials, second);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(transport.requests.size(), 1u);  // nothing asked
  EXPECT_EQ(second.from_cache, 1u);
  ASSERT_EQ(again[0].artifacts.size(), 1u);
  EXPECT_EQ(again[0].artifacts[0].url, "http://idx/files/demo-1.0-py3-none-any.whl");
}

TEST_F(LocateTest, OfflineWithoutAMatchNamesThePackageAndWhatToDo) {
  auto offline = options();
  offline.offline = true;
  std::vector<lock::Package> packages{hashed_package("demo", "1.0", {"pure"})};
  auto ok = locate_hashed_artifacts(packages, lock, offline, transport, credentials, stats);
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().kind, ErrorKind::runtime);
  EXPECT_NE(ok.error().message.find("demo 1.0: none of the lock's 1 hashes"), std::string::npos)
      << ok.error().message;
  EXPECT_NE(ok.error().message.find("without --offline"), std::string::npos) << ok.error().message;
  EXPECT_TRUE(transport.requests.empty());
}

TEST_F(LocateTest, FindLinksFilesMatchByTheirOwnHash) {
  fs::create_directories(dir.path() / "wheels");
  std::ofstream(dir.path() / "wheels" / "demo-1.0-py3-none-any.whl") << "pure";
  std::ofstream(dir.path() / "wheels" / "other-1.0-py3-none-any.whl") << "pure";  // another project
  auto o = options();
  o.offline = true;
  o.find_links = {dir.path() / "wheels"};
  std::vector<lock::Package> packages{hashed_package("demo", "1.0", {"pure"})};
  auto ok = locate_hashed_artifacts(packages, lock, o, transport, credentials, stats);
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(packages[0].artifacts.size(), 1u);
  EXPECT_EQ(packages[0].artifacts[0].filename, "demo-1.0-py3-none-any.whl");
  EXPECT_EQ(fs::path(packages[0].artifacts[0].url),
            fs::absolute(dir.path() / "wheels" / "demo-1.0-py3-none-any.whl"));
  EXPECT_EQ(stats.from_find_links, 1u);
}

TEST_F(LocateTest, ExtraIndexesAreSearchedAfterThePackagesOwn) {
  lock.extra_index_urls = {"http://extra/simple/"};
  transport.script("http://idx/simple/demo/",
                   {{200, fetch::TransferStatus::ok, json_page({{"demo-1.0.tar.gz", "source"}}), kJson}});
  transport.script(
      "http://extra/simple/demo/",
      {{200, fetch::TransferStatus::ok, json_page({{"demo-1.0-py3-none-any.whl", "pure"}}), kJson}});
  std::vector<lock::Package> packages{hashed_package("demo", "1.0", {"pure", "source"})};
  auto ok = locate_hashed_artifacts(packages, lock, options(), transport, credentials, stats);
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(packages[0].artifacts.size(), 2u);
  EXPECT_EQ(packages[0].artifacts[0].url, "http://extra/files/demo-1.0-py3-none-any.whl");
  EXPECT_EQ(packages[0].artifacts[1].url, "http://idx/files/demo-1.0.tar.gz");
  EXPECT_EQ(stats.pages, 2u);
}

TEST_F(LocateTest, AFileOfAnotherProjectWithTheHashIsRefused) {
  transport.script("http://idx/simple/demo/", {{200, fetch::TransferStatus::ok,
                                                json_page({{"evil-1.0-py3-none-any.whl", "pure"}}), kJson}});
  std::vector<lock::Package> packages{hashed_package("demo", "1.0", {"pure"})};
  auto ok = locate_hashed_artifacts(packages, lock, options(), transport, credentials, stats);
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("is a wheel of evil 1.0"), std::string::npos) << ok.error().message;
}

TEST_F(LocateTest, AnUnreadablePageIsNamedWithItsReason) {
  std::vector<lock::Package> packages{hashed_package("demo", "1.0", {"pure"}),
                                      hashed_package("gone", "2.0", {"x"})};
  transport.script("http://idx/simple/demo/", {{200, fetch::TransferStatus::ok, json_page({}), kJson}});
  auto ok = locate_hashed_artifacts(packages, lock, options(), transport, credentials, stats);
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("2 problems locating the lock's files"), std::string::npos)
      << ok.error().message;
  EXPECT_NE(ok.error().message.find("http://idx/simple/demo/ (0 files)"), std::string::npos)
      << ok.error().message;
  EXPECT_NE(
      ok.error().message.find("gone 2.0: none of the lock's 1 hashes is a file on http://idx/simple/gone/ ("),
      std::string::npos)
      << ok.error().message;
}

TEST_F(LocateTest, PackagesWithFilesAreLeftAlone) {
  lock::Package p = hashed_package("demo", "1.0", {});
  lock::Artifact a;
  a.filename = "demo-1.0-py3-none-any.whl";
  a.hashes["sha256"] = sha("pure");
  p.artifacts.push_back(a);
  std::vector<lock::Package> packages{p};
  EXPECT_FALSE(needs_locating(packages));
  ASSERT_TRUE(locate_hashed_artifacts(packages, lock, options(), transport, credentials, stats));
  EXPECT_TRUE(transport.requests.empty());
  EXPECT_EQ(packages[0].artifacts[0].filename, a.filename);
}

TEST_F(LocateTest, UnlocatedTooGivesNamedFilesTheirIndexUrl) {
  transport.script(
      "http://idx/simple/demo/",
      {{200, fetch::TransferStatus::ok,
        json_page({{"demo-1.0-py3-none-any.whl", "pure"}, {"demo-1.0.tar.gz", "source"}}), kJson}});
  lock::Package p = hashed_package("demo", "1.0", {});
  lock::Artifact named;  // a poetry.lock file: name and hash, no URL
  named.filename = "demo-1.0-py3-none-any.whl";
  named.hashes["sha256"] = sha("pure");
  p.artifacts.push_back(named);
  std::vector<lock::Package> packages{p};
  EXPECT_FALSE(needs_locating(packages));
  ASSERT_TRUE(needs_locating(packages, true));
  auto ok = locate_hashed_artifacts(packages, lock, options(), transport, credentials, stats, true);
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(packages[0].artifacts.size(), 1u);
  EXPECT_EQ(packages[0].artifacts[0].url, "http://idx/files/demo-1.0-py3-none-any.whl");

  // The file with the locked hash under another name is not the locked file.
  lock::Package q = hashed_package("demo", "1.0", {});
  named.filename = "demo-1.0-py2.py3-none-any.whl";
  q.artifacts.push_back(named);
  std::vector<lock::Package> renamed{q};
  auto refused = locate_hashed_artifacts(renamed, lock, options(), transport, credentials, stats, true);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("not the locked demo-1.0-py2.py3-none-any.whl"), std::string::npos)
      << refused.error().message;
}

TEST_F(LocateTest, AFileWhoseRequiresPythonExcludesTheTargetIsRefusedNamingTheSpecifier) {
  transport.script(
      "http://idx/simple/demo/",
      {{200, fetch::TransferStatus::ok, json_page_rp("demo-1.0-py3-none-any.whl", "pure", ">=3.12"), kJson}});
  std::vector<lock::Package> packages{hashed_package("demo", "1.0", {"pure"})};
  auto ok = locate_hashed_artifacts(packages, lock, options(), transport, credentials, stats, false,
                                    locate_target("3.11.7", nullptr));
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().kind, ErrorKind::check);
  EXPECT_NE(ok.error().message.find("demo 1.0: demo-1.0-py3-none-any.whl requires Python \">=3.12\", not "
                                    "Python 3.11.7"),
            std::string::npos)
      << ok.error().message;

  // The same file for 3.12.1 (a release candidate compares by its release, as pip does); and
  // again from the cache of matches, which keeps the specifier.
  std::vector<lock::Package> fits{hashed_package("demo", "1.0", {"pure"})};
  ASSERT_TRUE(locate_hashed_artifacts(fits, lock, options(), transport, credentials, stats, false,
                                      locate_target("3.12.0rc1", nullptr)));
  auto offline = options();
  offline.offline = true;
  std::vector<lock::Package> cached{hashed_package("demo", "1.0", {"pure"})};
  auto again = locate_hashed_artifacts(cached, lock, offline, transport, credentials, stats, false,
                                       locate_target("3.11.7", nullptr));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("requires Python \">=3.12\""), std::string::npos)
      << again.error().message;
}

TEST_F(LocateTest, OnlyTheFilesRequiresPythonExcludesAreSkipped) {
  transport.script("http://idx/simple/demo/",
                   {{200, fetch::TransferStatus::ok,
                     R"(<a href="../../files/demo-1.0-py3-none-any.whl#sha256=)" + sha("new") +
                         R"(" data-requires-python="&gt;=3.99">demo-1.0-py3-none-any.whl</a>)"
                         R"(<a href="../../files/demo-1.0.tar.gz#sha256=)" +
                         sha("source") + R"(" data-requires-python="not a specifier">demo-1.0.tar.gz</a>)",
                     kHtml}});
  std::vector<lock::Package> packages{hashed_package("demo", "1.0", {"new", "source"})};
  auto ok = locate_hashed_artifacts(packages, lock, options(), transport, credentials, stats, false,
                                    locate_target("3.12.1", nullptr));
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(packages[0].artifacts.size(), 1u);  // an invalid specifier excludes nothing (pip)
  EXPECT_EQ(packages[0].artifacts[0].filename, "demo-1.0.tar.gz");
  ASSERT_EQ(stats.notes.size(), 1u);
  EXPECT_NE(stats.notes[0].find("skipped demo-1.0-py3-none-any.whl requires Python \">=3.99\""),
            std::string::npos)
      << stats.notes[0];
}

TEST_F(LocateTest, FindLinksPagesAreSearchedFirstAndTheirUnhashedLinksDownloaded) {
  lock.find_links = {"http://links/wheels.html"};
  lock.no_index = true;
  const TagRanking ranking({pep::Tag{"py3", "none", "any"}});
  // One link with a hash fragment, and one without (the best compatible one is downloaded).
  transport.script(
      "http://links/wheels.html",
      {{200, fetch::TransferStatus::ok,
        R"(<a href="pkgs/demo-1.0.tar.gz#sha256=)" + sha("source") +
            R"(">demo-1.0.tar.gz</a>)"
            R"(<a href="pkgs/other-1.0-py3-none-any.whl">other-1.0-py3-none-any.whl</a>)"
            R"(<a href="pkgs/other-1.0-cp99-cp99-linux_x86_64.whl">other-1.0-cp99-cp99-linux_x86_64.whl</a>)",
        kHtml}});
  transport.script("http://links/pkgs/other-1.0-py3-none-any.whl",
                   {{200, fetch::TransferStatus::ok, "wheel"}});
  std::vector<lock::Package> packages{hashed_package("demo", "1.0", {"source"}),
                                      hashed_package("other", "1.0", {"binary", "wheel"})};
  auto ok = locate_hashed_artifacts(packages, lock, options(), transport, credentials, stats, false,
                                    locate_target("3.12.1", &ranking));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(packages[0].artifacts.at(0).url, "http://links/pkgs/demo-1.0.tar.gz");
  ASSERT_EQ(packages[1].artifacts.size(), 1u);
  EXPECT_EQ(packages[1].artifacts[0].url, "http://links/pkgs/other-1.0-py3-none-any.whl");
  EXPECT_EQ(packages[1].artifacts[0].hashes.at("sha256"), sha("wheel"));
  EXPECT_EQ(stats.downloaded, 1u);
  // --no-index: no index page asked; one page request for both packages, one download.
  ASSERT_EQ(transport.requests.size(), 2u);
  EXPECT_EQ(stats.pages, 1u);
  // The download went into the cache under its hash: fetch finds it there.
  fetch::ArtifactCache cache(dir.path() / "cache");
  EXPECT_TRUE(cache.lookup(sha("wheel"), "other-1.0-py3-none-any.whl", std::nullopt));
}

TEST_F(LocateTest, AnUnhashedLinkWithAnotherHashIsNamedInTheError) {
  lock.find_links = {"http://links/"};
  lock.no_index = true;
  const TagRanking ranking({pep::Tag{"py3", "none", "any"}});
  transport.script("http://links/",
                   {{200, fetch::TransferStatus::ok,
                     R"(<a href="demo-1.0-py3-none-any.whl">demo-1.0-py3-none-any.whl</a>)", kHtml}});
  transport.script("http://links/demo-1.0-py3-none-any.whl", {{200, fetch::TransferStatus::ok, "tampered"}});
  std::vector<lock::Package> packages{hashed_package("demo", "1.0", {"pure"})};
  auto ok = locate_hashed_artifacts(packages, lock, options(), transport, credentials, stats, false,
                                    locate_target("3.12.1", &ranking));
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("http://links/demo-1.0-py3-none-any.whl (downloaded: sha256:" +
                                    sha("tampered") + ", not one of the lock's hashes)"),
            std::string::npos)
      << ok.error().message;
}

}  // namespace
}  // namespace strata::plan
