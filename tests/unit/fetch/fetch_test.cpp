#include "fetch/fetch.hpp"

#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "fake_transport.hpp"
#include "fetch/cache.hpp"
#include "fetch/hash.hpp"
#include "fetch/simple_api.hpp"
#include "support/tempdir.hpp"
#include "util/fs.hpp"

namespace strata::fetch {
namespace {

namespace fs = std::filesystem;
using testing::FakeTransport;
using testing::Reply;

std::string sha(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex_digest();
}

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

struct Recorder final : ProgressObserver {
  std::vector<std::string> details;
  std::int64_t bytes = 0;
  void on_detail(std::string_view m) override { details.emplace_back(m); }
  void on_bytes(std::int64_t d) override { bytes += d; }
  std::string all() const {
    std::string out;
    for (const auto& d : details) out += d + "\n";
    return out;
  }
};

ArtifactRequest request(std::string project, std::string filename, std::string_view content) {
  ArtifactRequest r;
  r.package = project + " 1.0";
  r.project = project;
  r.filename = std::move(filename);
  r.sha256 = sha(content);
  r.size = content.size();
  return r;
}

class FetchTest : public ::testing::Test {
 protected:
  strata::testing::TempDir dir;
  FakeTransport transport;
  Recorder observer;
  CredentialResolver credentials{env_of({})};
  FetchOptions options() {
    FetchOptions o;
    o.cache_dir = dir.path() / "cache";
    o.index_url = "http://idx/simple/";
    return o;
  }
};

TEST_F(FetchTest, LooksUpEachProjectPageOnceAndDownloadsEveryFile) {
  transport.script("http://idx/simple/demo/",
                   {{200, TransferStatus::ok,
                     R"(<a href="../../files/demo-1.0-py3-none-any.whl#sha256=x">demo-1.0-py3-none-any.whl</a>
                        <a href="../../files/demo-1.0-cp311-cp311-linux_x86_64.whl">demo-1.0-cp311-cp311-linux_x86_64.whl</a>)",
                     "text/html"}});
  transport.script("http://idx/files/demo-1.0-py3-none-any.whl", {{200, TransferStatus::ok, "pure"}});
  transport.script("http://idx/files/demo-1.0-cp311-cp311-linux_x86_64.whl",
                   {{200, TransferStatus::ok, "binary"}});
  std::vector<ArtifactRequest> requests = {
      request("demo", "demo-1.0-py3-none-any.whl", "pure"),
      request("demo", "demo-1.0-cp311-cp311-linux_x86_64.whl", "binary")};
  auto fetched = fetch_all(requests, options(), transport, credentials, observer);
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(transport.count("http://idx/simple/demo/"), 1u);
  ASSERT_EQ(fetched->size(), 2u);
  EXPECT_EQ((*fetched)[0].origin, ArtifactOrigin::download);
  EXPECT_EQ(*util::read_file((*fetched)[0].path), "pure");
  EXPECT_EQ(*util::read_file((*fetched)[1].path), "binary");
  EXPECT_EQ((*fetched)[0].path,
            ArtifactCache(dir.path() / "cache").entry_path(sha("pure"), "demo-1.0-py3-none-any.whl"));
  EXPECT_EQ(observer.bytes, 10);
  // The page request asked for JSON first.
  ASSERT_FALSE(transport.requests.empty());
  EXPECT_EQ(transport.requests[0].headers.at(0), std::string("Accept: ") + std::string(kSimpleAccept));

  // A second run is served from the cache without any request.
  FakeTransport offline_transport;
  auto o = options();
  o.offline = true;
  auto again = fetch_all(requests, o, offline_transport, credentials, observer);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(offline_transport.requests.empty());
  EXPECT_EQ((*again)[1].origin, ArtifactOrigin::cache);
}

TEST_F(FetchTest, HashMismatchNamesFileAndHashesAndLeavesCacheUntouched) {
  auto r = request("demo", "demo-1.0-py3-none-any.whl", "good");
  r.url = "http://files/demo-1.0-py3-none-any.whl";
  r.size.reset();
  transport.script(r.url, {{200, TransferStatus::ok, "evil"}});
  auto fetched = fetch_all({r}, options(), transport, credentials, observer);
  ASSERT_FALSE(fetched);
  const std::string& m = fetched.error().message;
  EXPECT_NE(m.find("demo-1.0-py3-none-any.whl"), std::string::npos) << m;
  EXPECT_NE(m.find(sha("good")), std::string::npos) << m;
  EXPECT_NE(m.find(sha("evil")), std::string::npos) << m;
  EXPECT_EQ(transport.count(r.url), 1u);  // a hash mismatch is not retried
  std::error_code ec;
  EXPECT_FALSE(fs::exists(dir.path() / "cache" / "artifacts", ec));
  EXPECT_TRUE(fs::is_empty(dir.path() / "cache" / "tmp", ec));
}

TEST_F(FetchTest, ShortBodyIsRetriedThenSucceeds) {
  auto r = request("demo", "demo-1.0-py3-none-any.whl", "complete");
  r.url = "http://files/demo-1.0-py3-none-any.whl";
  transport.script(r.url, {{200, TransferStatus::ok, "comp"}, {200, TransferStatus::ok, "complete"}});
  auto fetched = fetch_all({r}, options(), transport, credentials, observer);
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(transport.count(r.url), 2u);
  EXPECT_EQ(observer.bytes, 8);  // the discarded attempt's bytes were taken back
}

TEST_F(FetchTest, OfflineListsExactlyTheMissingFiles) {
  auto present = request("a", "a-1.0-py3-none-any.whl", "aaa");
  auto missing = request("b", "b-1.0-py3-none-any.whl", "bbb");
  fs::create_directories(dir.path() / "links");
  std::ofstream(dir.path() / "links" / present.filename) << "aaa";
  auto o = options();
  o.offline = true;
  o.find_links = {dir.path() / "links"};
  auto fetched = fetch_all({present, missing}, o, transport, credentials, observer);
  ASSERT_FALSE(fetched);
  const std::string& m = fetched.error().message;
  EXPECT_NE(m.find("b-1.0-py3-none-any.whl"), std::string::npos) << m;
  EXPECT_EQ(m.find("a-1.0-py3-none-any.whl"), std::string::npos) << m;
  EXPECT_TRUE(transport.requests.empty());

  auto only_present = fetch_all({present}, o, transport, credentials, observer);
  ASSERT_TRUE(only_present) << only_present.error().message;
  EXPECT_EQ((*only_present)[0].origin, ArtifactOrigin::find_links);
  EXPECT_EQ((*only_present)[0].path, dir.path() / "links" / present.filename);
}

TEST_F(FetchTest, CachedEntryWithOtherBytesOfTheSameSizeIsDiscardedAndFetchedAgain) {
  auto r = request("a", "a-1.0-py3-none-any.whl", "right");
  r.url = "http://files/a-1.0-py3-none-any.whl";
  const fs::path entry = ArtifactCache(dir.path() / "cache").entry_path(r.sha256, r.filename);
  fs::create_directories(entry.parent_path());
  std::ofstream(entry) << "wrong";  // same size, another (valid-looking) file
  transport.script(r.url, {{200, TransferStatus::ok, "right"}});

  auto o = options();
  o.offline = true;
  auto offline = fetch_all({r}, o, transport, credentials, observer);
  ASSERT_FALSE(offline);  // never used, and gone
  EXPECT_NE(offline.error().message.find(r.filename), std::string::npos) << offline.error().message;
  EXPECT_FALSE(fs::exists(entry));
  EXPECT_NE(observer.all().find("corrupt cache entry removed"), std::string::npos) << observer.all();

  std::ofstream(entry) << "wrong";
  auto fetched = fetch_all({r}, options(), transport, credentials, observer);
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ((*fetched)[0].origin, ArtifactOrigin::download);
  EXPECT_EQ(transport.count(r.url), 1u);
  EXPECT_EQ(*util::read_file(entry), "right");
}

TEST_F(FetchTest, ABodyLongerThanTheLockedSizeIsCutOffAndNotRetried) {
  auto r = request("a", "a-1.0-py3-none-any.whl", "right");
  r.url = "http://files/a-1.0-py3-none-any.whl";
  transport.script(r.url, {{200, TransferStatus::ok, "right" + std::string(100000, 'x')}});
  auto fetched = fetch_all({r}, options(), transport, credentials, observer);
  ASSERT_FALSE(fetched);
  const std::string& m = fetched.error().message;
  EXPECT_NE(m.find("more than the expected 5 bytes"), std::string::npos) << m;
  EXPECT_NE(m.find(r.url), std::string::npos) << m;
  EXPECT_EQ(transport.count(r.url), 1u);
  EXPECT_EQ(observer.bytes, 0);  // nothing of it was written
  ASSERT_EQ(transport.requests.size(), 1u);
  EXPECT_EQ(transport.requests[0].expected_size, 5u);  // the transport's deadline scales with it
  std::error_code ec;
  EXPECT_FALSE(fs::exists(dir.path() / "cache" / "artifacts", ec));
  EXPECT_TRUE(fs::is_empty(dir.path() / "cache" / "tmp", ec));
}

TEST_F(FetchTest, TheIndexSizeBoundsADownloadWhenTheLockHasNone) {
  auto r = request("demo", "demo-1.0-py3-none-any.whl", "right");
  r.size.reset();  // poetry.lock has no sizes
  transport.script(
      "http://idx/simple/demo/",
      {{200, TransferStatus::ok,
        R"({"meta":{"api-version":"1.1"},"files":[{"filename":"demo-1.0-py3-none-any.whl","url":"/f/demo.whl","hashes":{},"size":5}]})",
        "application/vnd.pypi.simple.v1+json"}});
  transport.script("http://idx/f/demo.whl", {{200, TransferStatus::ok, "right and then some"}});
  auto fetched = fetch_all({r}, options(), transport, credentials, observer);
  ASSERT_FALSE(fetched);
  EXPECT_NE(fetched.error().message.find("more than the expected 5 bytes"), std::string::npos)
      << fetched.error().message;

  // An index that contradicts the lock's size is not downloaded from.
  FakeTransport other;
  other.script(
      "http://idx/simple/demo/",
      {{200, TransferStatus::ok,
        R"({"meta":{"api-version":"1.1"},"files":[{"filename":"demo-1.0-py3-none-any.whl","url":"/f/demo.whl","hashes":{},"size":6}]})",
        "application/vnd.pypi.simple.v1+json"}});
  r.size = 5;
  fetched = fetch_all({r}, options(), other, credentials, observer);
  ASSERT_FALSE(fetched);
  EXPECT_NE(fetched.error().message.find("lists 6 bytes, the lock 5"), std::string::npos)
      << fetched.error().message;
  EXPECT_EQ(other.count("http://idx/f/demo.whl"), 0u);
}

TEST_F(FetchTest, FindLinksFileWithWrongHashIsIgnored) {
  auto r = request("a", "a-1.0-py3-none-any.whl", "right");
  r.url = "http://files/a-1.0-py3-none-any.whl";
  r.size.reset();
  fs::create_directories(dir.path() / "links");
  std::ofstream(dir.path() / "links" / r.filename) << "wrong";
  transport.script(r.url, {{200, TransferStatus::ok, "right"}});
  auto o = options();
  o.find_links = {dir.path() / "links"};
  auto fetched = fetch_all({r}, o, transport, credentials, observer);
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ((*fetched)[0].origin, ArtifactOrigin::download);
}

TEST_F(FetchTest, DestReceivesFilesAndCacheStaysEmpty) {
  auto r = request("a", "a-1.0-py3-none-any.whl", "content");
  r.url = "http://files/a-1.0-py3-none-any.whl";
  transport.script(r.url, {{200, TransferStatus::ok, "content"}});
  auto o = options();
  o.dest_dir = dir.path() / "dest";
  auto fetched = fetch_all({r}, o, transport, credentials, observer);
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ((*fetched)[0].path, dir.path() / "dest" / r.filename);
  EXPECT_EQ(*util::read_file((*fetched)[0].path), "content");
  std::error_code ec;
  EXPECT_FALSE(fs::exists(dir.path() / "cache" / "artifacts", ec));
  // Already in --dest: verified in place, nothing downloaded.
  FakeTransport quiet;
  auto again = fetch_all({r}, o, quiet, credentials, observer);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)[0].origin, ArtifactOrigin::dest);
  EXPECT_TRUE(quiet.requests.empty());
}

TEST_F(FetchTest, CredentialsGoToTheTransportAndNeverIntoMessages) {
  CredentialResolver creds(env_of({{"STRATA_HTTP_BASIC_PRIVATE_USERNAME", "alice"},
                                   {"STRATA_HTTP_BASIC_PRIVATE_PASSWORD", "hunter2-secret"}}));
  auto r = request("demo", "demo-1.0-py3-none-any.whl", "x");
  r.index_url = "http://priv/simple/";
  r.source_name = "private";
  transport.script("http://priv/simple/demo/", {{401}});
  auto fetched = fetch_all({r}, options(), transport, creds, observer);
  ASSERT_FALSE(fetched);
  ASSERT_EQ(transport.requests.size(), 1u);
  EXPECT_EQ(transport.requests[0].username, "alice");
  EXPECT_EQ(transport.requests[0].password, "hunter2-secret");
  const std::string& m = fetched.error().message;
  EXPECT_NE(m.find("HTTP 401"), std::string::npos) << m;
  EXPECT_NE(m.find("STRATA_HTTP_BASIC_PRIVATE_USERNAME"), std::string::npos) << m;
  EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
  EXPECT_NE(observer.all().find("using credentials from STRATA_HTTP_BASIC_PRIVATE_USERNAME/_PASSWORD"),
            std::string::npos)
      << observer.all();
  EXPECT_EQ(observer.all().find("hunter2"), std::string::npos);
}

TEST_F(FetchTest, UserinfoInTheIndexUrlIsStrippedAndRedacted) {
  auto r = request("demo", "demo-1.0-py3-none-any.whl", "x");
  auto o = options();
  o.index_url = "http://bob:pw-secret@idx/simple/";
  transport.script("http://idx/simple/demo/", {{404}});
  auto fetched = fetch_all({r}, o, transport, credentials, observer);
  ASSERT_FALSE(fetched);
  ASSERT_EQ(transport.requests.size(), 1u);
  EXPECT_EQ(transport.requests[0].url, "http://idx/simple/demo/");
  EXPECT_EQ(transport.requests[0].username, "bob");
  EXPECT_EQ(fetched.error().message.find("pw-secret"), std::string::npos) << fetched.error().message;
  EXPECT_NE(fetched.error().message.find("http://***@idx/simple/demo/"), std::string::npos)
      << fetched.error().message;
}

TEST_F(FetchTest, SourceOverrideReplacesTheLockedUrl) {
  auto r = request("demo", "demo-1.0-py3-none-any.whl", "x");
  r.source_name = "private";
  r.index_url = "https://old.example/simple/";
  r.url = "https://old.example/files/demo-1.0-py3-none-any.whl";
  auto o = options();
  o.source_urls["private"] = "http://mirror/simple";
  transport.script(
      "http://mirror/simple/demo/",
      {{200, TransferStatus::ok,
        R"({"meta":{"api-version":"1.0"},"files":[{"filename":"demo-1.0-py3-none-any.whl","url":"/f/demo.whl","hashes":{}}]})",
        "application/vnd.pypi.simple.v1+json"}});
  transport.script("http://mirror/f/demo.whl", {{200, TransferStatus::ok, "x"}});
  auto fetched = fetch_all({r}, o, transport, credentials, observer);
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(transport.count("https://old.example/files/demo-1.0-py3-none-any.whl"), 0u);
}

TEST_F(FetchTest, FileMissingFromThePageIsNamed) {
  auto r = request("demo", "demo-9.9-py3-none-any.whl", "x");
  transport.script("http://idx/simple/demo/",
                   {{200, TransferStatus::ok, "<a href=\"a.whl\">a.whl</a>", "text/html"}});
  auto fetched = fetch_all({r}, options(), transport, credentials, observer);
  ASSERT_FALSE(fetched);
  EXPECT_NE(
      fetched.error().message.find("demo-9.9-py3-none-any.whl is not listed on http://idx/simple/demo/"),
      std::string::npos)
      << fetched.error().message;
}

TEST_F(FetchTest, MissingHashIsAUsageError) {
  auto r = request("demo", "demo-1.0-py3-none-any.whl", "x");
  r.sha256.clear();
  auto fetched = fetch_all({r}, options(), transport, credentials, observer);
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().kind, ErrorKind::usage);
}

}  // namespace
}  // namespace strata::fetch
